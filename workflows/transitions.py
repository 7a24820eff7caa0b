"""What a submission's workflow does to it, and the events its changes record.

- accepted at once (no workflow): the event goes in with the submission's own INSERT (the
  ``submission_companions`` hook in wagtail_hooks.py), on either way in;
- approved: Wagtail publishes the submission's latest revision (an approver's corrections
  included); this marks it ``accepted`` and records the event in that same transaction;
- rejected: ``rejected``, with the approver's comment as the reason the submitter sees.
"""

from django.db import transaction
from django.dispatch import receiver
from wagtail.signals import published, workflow_rejected

from forms_engine.models import Submission

from .events import SUBMISSION_ACCEPTED, SUBMISSION_REJECTED
from .outbox import event_new, event_record


def submission_payload(submission: Submission) -> dict:
    """A submission named by (form, client_id), its identity before its INSERT gives it an id:
    the ingest lane writes the event in the INSERT's own statement (events.submission_of)."""
    return {
        "form": submission.form_id,
        "client_id": str(submission.client_id),
        "area": submission.area_id,
        "place": submission.place_id,
    }


def submission_key(kind: str, submission: Submission) -> str:
    return f"{kind}:{submission.form_id}:{submission.client_id}"


def accepted_event(submission: Submission):
    """The unsaved event of a submission accepted at once (it may not have its id yet)."""
    if submission.status != Submission.STATUS_ACCEPTED:
        return []
    key = submission_key(SUBMISSION_ACCEPTED, submission)
    return [event_new(kind=SUBMISSION_ACCEPTED, key=key, payload=submission_payload(submission))]


@receiver(published, sender=Submission)
def submission_approved(sender, instance: Submission, **kwargs):
    if instance.status == Submission.STATUS_ACCEPTED:
        return  # published again after acceptance (an edit): no new event
    with transaction.atomic():
        Submission.objects.filter(pk=instance.pk).update(status=Submission.STATUS_ACCEPTED, status_reason="")
        instance.status, instance.status_reason = Submission.STATUS_ACCEPTED, ""
        event_record(
            kind=SUBMISSION_ACCEPTED,
            key=submission_key(SUBMISSION_ACCEPTED, instance),
            payload=submission_payload(instance),
        )


@receiver(workflow_rejected)
def submission_rejected(sender, instance, user=None, **kwargs):
    """``instance`` is the WorkflowState; its current task state holds the approver's comment."""
    submission = instance.content_object
    if not isinstance(submission, Submission):
        return
    task_state = instance.current_task_state
    reason = task_state.get_comment() if task_state else ""
    with transaction.atomic():
        Submission.objects.filter(pk=submission.pk).update(
            status=Submission.STATUS_REJECTED, status_reason=reason
        )
        event_record(
            kind=SUBMISSION_REJECTED,
            key=f"{submission_key(SUBMISSION_REJECTED, submission)}:{instance.pk}",
            payload={**submission_payload(submission), "reason": reason, "by": getattr(user, "pk", None)},
        )
