"""Outbox handlers of the tracing app (imported at app ready, apps.py).

Every accepted submission goes through ``submissions_accepted`` on the ``tracing`` queue, a
job's whole batch at once: the persons the batch names are resolved with set-based queries,
then each form kind's rule acts on its submissions (kinds and roles: docs/forms.md). A new
F0 records a ``case.confirmed`` event, whose handlers expand the case to its contacts and
find who shared its places.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from forms_engine import models as forms
from forms_engine.models import FormPage, FormVersion, Submission
from workflows.events import SUBMISSION_ACCEPTED, handles

from . import classify, exposure, quarantine, testing
from .models import Person
from .resolve import submissions_persons_resolve

CASE_CONFIRMED = classify.CASE_CONFIRMED


@dataclass
class Accepted:
    """One accepted submission with what the rules read: its fields by role and its persons."""

    event_key: str
    submission: Submission
    persons: dict[str, Person] = field(default_factory=dict)  # field key → person
    kind: str = ""  # the form's

    @property
    def job(self) -> str:
        return self.event_key

    def role_key(self, role: str) -> str | None:
        return next(
            (spec["key"] for spec in self.submission.version.schema if spec.get("role") == role), None
        )

    def value(self, role: str, default=None):
        key = self.role_key(role)
        return self.submission.data.get(key, default) if key else default

    @property
    def person(self) -> Person | None:
        """The person the submission is about (its top-level ``person`` role)."""
        key = self.role_key("person")
        return self.persons.get(key) if key else None


def accepted_of(events) -> list[Accepted]:
    """The events' submissions (events name them by form and client_id), in three queries:
    the submissions, then their versions and their forms' kinds once each, however many
    submissions share them (a version's schema is decoded once, not once a submission)."""
    wanted = {(e.payload["form"], e.payload["client_id"]): e.key for e in events}
    form_ids = {form for form, _ in wanted}
    client_ids = [client for _, client in wanted]
    submissions = [
        submission
        for submission in Submission.objects.filter(
            form_id__in=form_ids, client_id__in=client_ids, status=Submission.STATUS_ACCEPTED
        )
        if (submission.form_id, str(submission.client_id)) in wanted
    ]
    versions = FormVersion.objects.in_bulk({s.version_id for s in submissions})
    kinds = dict(FormPage.objects.filter(pk__in=form_ids).values_list("pk", "kind"))
    found = []
    for submission in submissions:
        submission.version = versions[submission.version_id]
        key = wanted[(submission.form_id, str(submission.client_id))]
        found.append(Accepted(event_key=key, submission=submission, kind=kinds[submission.form_id]))
    return found


# What each kind of form does once accepted, after its persons are resolved.
RULES = {
    forms.KIND_TESTING: [testing.results_record],
    forms.KIND_TRACING: [classify.interviews_record, exposure.workplaces_record],
    forms.KIND_CHECKPOINT: [exposure.checkins_record, quarantine.travellers_order],
    forms.KIND_HEALTH_DECLARATION: [exposure.checkins_record, testing.symptomatic_request],
    forms.KIND_QUARANTINE_CHECKIN: [quarantine.checkins_record],
    forms.KIND_QUARANTINE_RELEASE: [quarantine.releases_record],
}


@handles(SUBMISSION_ACCEPTED, queue="tracing", batch=True)
def submissions_accepted(events):
    """Persons resolved, then each kind's rules, for a batch of accepted submissions."""
    accepted = accepted_of(events)
    links = submissions_persons_resolve([item.submission for item in accepted])
    by_kind = defaultdict(list)
    for item in accepted:
        item.persons = links.get(item.submission.pk, {})
        by_kind[item.kind].append(item)
    for kind, items in by_kind.items():
        for rule in RULES.get(kind, []):
            rule(items)
    return None


@handles(CASE_CONFIRMED, queue="tracing")
def case_expand(event):
    """A new F0's contacts, and theirs, classified to the configured depth; orders and tests
    for the new F1s (classify.case_expand)."""
    return classify.case_expand_event(event)


@handles(CASE_CONFIRMED, queue="tracing")
def case_colocate(event):
    """Everyone who checked in where the new F0 did, around the same time (exposure.py)."""
    return exposure.colocation_expose_event(event)
