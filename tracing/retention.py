"""Retention: health declarations keep their personal data HEALTH_DECLARATION_RETENTION_DAYS.

A declaration is made to let a venue's visitors be found if a case was there; co-location
looks back 14 days (Tracing settings), so after the retention period (30 days by default)
who declared is no longer needed, only that someone did, where and when: the daily counters
(``declarations``) and their rebuild read the submission's form, area and date, which stay.
``forms_engine.retention`` blanks the submission, its revisions and its files.

A person the registry knows only from such declarations is anonymised too (name, citizen ID,
phone, address, birth date and workplace blanked; sex, birth year and home area kept), but
only when nothing in tracing names them: no level or level history, contact (either way),
quarantine order, test request, alert, cluster, possible duplicate or merge, and no
submission of another kind or still within retention. Anyone tracing follows keeps their
record, so the tracing of cases never breaks; their own declarations are blanked all the
same. Check-ins by QR stay (an anonymous person at a place and time): keep the co-location
window shorter than the retention period.

The scheduler runs ``retention_due`` every OVERDUE_CHECK_SECONDS, RETENTION_BATCH_SIZE
declarations per transaction; ``manage.py retention_run`` runs it by hand. Running it again
changes nothing. It logs counts, never values.
"""

import logging
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce, ExtractYear
from django.utils import timezone

from forms_engine.models import KIND_HEALTH_DECLARATION, Submission
from forms_engine.retention import submissions_anonymise
from workflows.events import every

from .models import (
    Alert,
    Classification,
    ClusterMember,
    Contact,
    DuplicateCandidate,
    Person,
    PersonMerge,
    QuarantineOrder,
    SubmissionPerson,
    TestRequest,
)

logger = logging.getLogger(__name__)

# (model, field naming a person): a person any of these rows names is followed by tracing.
TRACING_LINKS = (
    (Classification, "person"),
    (Contact, "person"),
    (Contact, "contact"),
    (QuarantineOrder, "person"),
    (TestRequest, "person"),
    (Alert, "person"),
    (ClusterMember, "person"),
    (DuplicateCandidate, "person"),
    (DuplicateCandidate, "other"),
    (PersonMerge, "kept"),
    (PersonMerge, "absorbed"),
    (Person, "merged_into"),
)
SCHEDULED_BATCHES = 20  # per scheduler pass: 10,000 declarations every 5 minutes by default


def declarations_due(*, now: datetime | None = None, limit: int) -> list[int]:
    """Ids of the oldest health declarations past retention not anonymised yet."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.HEALTH_DECLARATION_RETENTION_DAYS)
    due = Submission.objects.filter(
        form__kind=KIND_HEALTH_DECLARATION, anonymised_at=None, created_at__lt=cutoff
    ).order_by("created_at")
    return list(due.values_list("pk", flat=True)[:limit])


def persons_anonymisable(submission_ids: list[int]) -> set[int]:
    """The persons these submissions name that nothing but anonymised submissions names."""
    candidates = set(
        SubmissionPerson.objects.filter(submission_id__in=submission_ids).values_list("person_id", flat=True)
    )
    if not candidates:
        return set()
    candidates = set(
        Person.objects.filter(pk__in=candidates, level="", merged_into=None).values_list("pk", flat=True)
    )
    candidates -= set(
        SubmissionPerson.objects.filter(person_id__in=candidates, submission__anonymised_at=None).values_list(
            "person_id", flat=True
        )
    )
    for model, field in TRACING_LINKS:
        if candidates:
            candidates -= set(
                model.objects.filter(**{f"{field}__in": candidates}).values_list(field, flat=True)
            )
    return candidates


def persons_anonymise(person_ids: set[int]) -> int:
    """Blank what names these persons; keep what the registry counts by. Returns how many
    still had something to blank."""
    named = Person.objects.filter(pk__in=person_ids).exclude(
        full_name="", national_id="", phone="", address="", birth_date=None, workplace=None
    )
    return named.update(
        full_name="",
        name_folded="",
        national_id="",
        phone="",
        address="",
        birth_year=Coalesce(F("birth_year"), ExtractYear("birth_date")),
        birth_date=None,
        workplace=None,
        updated_at=timezone.now(),
    )


def retention_batch(submission_ids: list[int]) -> Counter:
    """One batch, in one transaction (the submissions' files leave storage after it)."""
    done = Counter(submissions_anonymise(submission_ids))
    with transaction.atomic():
        done["persons"] = persons_anonymise(persons_anonymisable(submission_ids))
    return done


def retention_run(*, now: datetime | None = None, batch_size: int | None = None, max_batches=None) -> dict:
    """Anonymise the declarations past retention, a batch at a time, up to ``max_batches``
    (None: until none is left). Returns and logs the counts."""
    batch_size = batch_size or settings.RETENTION_BATCH_SIZE
    totals, batches = Counter(), 0
    while max_batches is None or batches < max_batches:
        ids = declarations_due(now=now, limit=batch_size)
        done = retention_batch(ids) if ids else Counter()
        totals.update(done)
        batches += 1
        if not done["submissions"]:  # none left, or another scheduler holds the rest
            break
    if totals["submissions"] or totals["persons"]:
        logger.info(
            "retention: %d declarations, %d revisions, %d uploads, %d persons anonymised",
            totals["submissions"],
            totals["revisions"],
            totals["uploads"],
            totals["persons"],
        )
    return {key: totals[key] for key in ("submissions", "revisions", "uploads", "persons")}


@every("OVERDUE_CHECK_SECONDS")
def retention_due(now: datetime | None = None) -> dict:
    """The scheduler's pass: cheap when nothing is due (one indexed query)."""
    return retention_run(now=now, max_batches=SCHEDULED_BATCHES)
