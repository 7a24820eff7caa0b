"""Blanking the personal data of old submissions while what they count for stays.

A submission keeps its form, version, area, place, status and dates (the daily counters and
their rebuild read nothing else of a health declaration), and its values that are not about
a person: choices, yes/no answers, numbers, dates, areas and places. Gone are names, phone
numbers, citizen IDs, addresses, birth dates (the year stays), free text, GPS points and
files, in the submission, in every revision Wagtail keeps of it, and on disk. Which
submissions, and when, is the caller's business (tracing/retention.py).
"""

import uuid
from datetime import date

from django.db import transaction
from django.utils import timezone
from wagtail.models import Revision, TaskState

from .models import Submission, Upload
from .services import data_fingerprint

# Value types that are personal whatever their role: they go.
PERSONAL_TYPES = frozenset({"text", "textarea", "phone", "national_id", "geopoint", "file"})
# What stays of a person field: what the counters could ever group by, nothing that names.
PERSON_KEPT = ("sex", "birth_year", "home_area")


def values_anonymise(fields: list[dict], values: dict) -> dict:
    """``values`` (a submission's data, or a repeat item) without its personal values.
    Keys the schema does not know go too: nothing unread is kept."""
    kept = {}
    for spec in fields:
        key = spec.get("key")
        if not key or key not in values or spec["type"] in PERSONAL_TYPES:
            continue
        value = values[key]
        if spec["type"] == "repeat":
            value = [values_anonymise(spec.get("fields", []), item) for item in value or []]
        elif spec["type"] == "person":
            value = person_anonymise(value or {})
        kept[key] = value
    return kept


def person_anonymise(value: dict) -> dict:
    year = value.get("birth_year")
    if not year and value.get("birth_date"):
        try:
            year = date.fromisoformat(str(value["birth_date"])[:10]).year
        except ValueError:
            year = None
    value = {**value, "birth_year": year}
    return {key: value[key] for key in PERSON_KEPT if value.get(key) not in (None, "")}


def upload_ids(fields: list[dict], values: dict) -> set[str]:
    """The uploads the values name, inside repeats too."""
    found = set()
    for spec in fields:
        value = values.get(spec.get("key") or "")
        if not value:
            continue
        if spec["type"] == "file" and isinstance(value, dict) and value.get("upload"):
            found.add(str(value["upload"]))
        elif spec["type"] == "repeat":
            for item in value:
                found |= upload_ids(spec.get("fields", []), item)
    return found


def submissions_anonymise(submission_ids: list[int]) -> dict:
    """Anonymise these submissions (those not anonymised yet), their revisions and their files,
    in one transaction; the files leave the storage once it has ended (a file deleted in a
    transaction that then failed could not come back).
    Returns counts only: {"submissions", "revisions", "uploads"}."""
    with transaction.atomic():
        submissions = list(
            Submission.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(pk__in=submission_ids, anonymised_at=None)
            .select_related("version")
        )
        if not submissions:
            return {"submissions": 0, "revisions": 0, "uploads": 0}
        uploads = set()
        now = timezone.now()
        for submission in submissions:
            schema = submission.version.schema
            uploads |= upload_ids(schema, submission.data)
            submission.data = values_anonymise(schema, submission.data)
            submission.data_hash = data_fingerprint(submission.data)
            submission.anonymised_at = now
        Submission.objects.bulk_update(submissions, ["data", "data_hash", "anonymised_at"])
        revisions, revision_uploads = revisions_anonymise(submissions)
        files = uploads_delete(uploads | revision_uploads)
    for file in files:
        file.storage.delete(file.name)
    return {"submissions": len(submissions), "revisions": revisions, "uploads": len(files)}


def revisions_anonymise(submissions: list[Submission]) -> tuple[int, set[str]]:
    """Wagtail keeps a copy of the submission in each revision (a correction in review is
    one): scrub the copies' data the same way, and the reviewers' comments on them (free text).
    Returns (revisions changed, uploads the older copies named)."""
    by_pk = {str(s.pk): s for s in submissions}
    revisions = list(Revision.objects.filter(submission__in=submissions))
    uploads = set()
    for revision in revisions:
        schema = by_pk[revision.object_id].version.schema
        data = revision.content.get("data") or {}
        uploads |= upload_ids(schema, data)
        revision.content = {**revision.content, "data": values_anonymise(schema, data)}
    Revision.objects.bulk_update(revisions, ["content"])
    TaskState.objects.filter(revision__in=revisions).exclude(comment="").update(comment="")
    return len(revisions), uploads


def uploads_delete(upload_ids: set[str]) -> list:
    """Delete the rows of these uploads; their files to delete once the transaction commits."""
    uploads = list(Upload.objects.filter(pk__in=[pk for pk in upload_ids if is_uuid(pk)]))
    Upload.objects.filter(pk__in=[u.pk for u in uploads]).delete()
    return [u.file for u in uploads if u.file]


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
