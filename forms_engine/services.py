"""Writes: form versions on publication, submissions."""

import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Max
from wagtail import hooks

from places.models import Area, Place
from places.selectors import user_area

from .models import FormPage, FormVersion, Submission
from .schema import fields_schema


@transaction.atomic
def form_version_publish(*, form: FormPage, revision=None) -> FormVersion:
    """Freeze the published fields as the form's next version."""
    form = FormPage.objects.select_for_update().get(pk=form.pk)
    number = (form.versions.aggregate(last=Max("number"))["last"] or 0) + 1
    return FormVersion.objects.create(
        form=form, number=number, revision=revision, schema=fields_schema(form.fields)
    )


# --- submissions -------------------------------------------------------------------------------

AREA_ROLES = ("destination", "area")


@dataclass
class SubmissionOutcome:
    submission: Submission
    created: bool
    same_data: bool


def data_fingerprint(data) -> str:
    """A stable hash of what the client sent, to tell a replay from a conflicting reuse."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def derive_area_and_place(
    *, version: FormVersion, result, qr_place: Place | None, fallback_area: Area | None
) -> tuple:
    """The submission's area and place, from field roles (docs/forms.md), the QR, else the
    submitter's own area (``fallback_area``)."""
    # Top-level fields only: a role inside a repeat group (a contact's address) is not the submission's.
    by_role = {spec["role"]: spec["key"] for spec in version.schema if spec.get("role") and spec.get("key")}
    place = qr_place or result.places.get(by_role.get("place", ""))
    for role in AREA_ROLES:
        if by_role.get(role) in result.areas:
            return result.areas[by_role[role]], place
    person_area = result.areas.get(f"{by_role['person']}.home_area") if "person" in by_role else None
    if person_area:
        return person_area, place
    if place:
        return place.area, place
    return fallback_area, place


def submission_prepare(
    *, form: FormPage, version: FormVersion, body: dict, result, qr_place, user=None, token=None
) -> Submission:
    """The unsaved submission for a parsed request body (intake.parse_body) and its valid
    ``result``. The ingest lane's users carry their area: no query on the event loop."""
    area, place = derive_area_and_place(
        version=version, result=result, qr_place=qr_place, fallback_area=user_area(user=user)
    )
    return Submission(
        form=form,  # the caller's: its workflow is then known without a query
        version=version,
        client_id=body["client_id"],
        data=result.cleaned,
        data_hash=data_fingerprint(body["data"]),
        status=Submission.STATUS_ACCEPTED,
        source=body["source"],
        submitted_by=user if getattr(user, "is_authenticated", False) else None,
        token=token,
        area=area,
        place=place,
        client_created_at=body.get("client_created_at"),
    )


# Other apps join in a submission's storage through Wagtail hooks, so that forms_engine never
# imports them (the workflows app records its events this way):
# - COMPANIONS_HOOK: fn(submission) -> unsaved model instances to insert in the same
#   transaction; no queries (the ingest lane calls it on the event loop);
# - AFTER_COMMIT_HOOK: fn() once the transaction has committed.
COMPANIONS_HOOK = "submission_companions"
AFTER_COMMIT_HOOK = "submission_after_commit"


def submission_companions(submission: Submission) -> list:
    return [row for make in hooks.get_hooks(COMPANIONS_HOOK) for row in make(submission)]


def submission_after_commit() -> None:
    for run in hooks.get_hooks(AFTER_COMMIT_HOOK):
        run()


def submission_create(submission: Submission) -> SubmissionOutcome:
    """Store a prepared submission once per client_id, however many times it is retried.

    Its form's workflow, if any, starts in the same transaction: the submission waits in
    review (not live) until the workflow ends (workflows/transitions.py).
    """
    workflow = submission.get_workflow()
    if workflow is not None:
        submission.status, submission.live = Submission.STATUS_IN_REVIEW, False
    with transaction.atomic():
        try:
            with transaction.atomic():
                submission.save(force_insert=True)
        except IntegrityError:  # this client_id was stored before: a retry
            existing = Submission.objects.get(form_id=submission.form_id, client_id=submission.client_id)
            same_data = existing.data_hash == submission.data_hash
            return SubmissionOutcome(existing, created=False, same_data=same_data)
        if workflow is None:
            for row in submission_companions(submission):
                row.save(force_insert=True)
        else:
            submitter = submission.submitted_by
            submission.save_revision(user=submitter, clean=False)
            workflow.start(submission, submitter)
        transaction.on_commit(submission_after_commit)
    if workflow is not None:
        submission.refresh_from_db(fields=["status"])  # a rule step may have decided already
    return SubmissionOutcome(submission, created=True, same_data=True)
