"""Built-in handlers: the submitter hears of the decision on a reviewed submission.

Tracing and reports register their own handlers of the same events in their apps.
"""

from django.db import transaction

from forms_engine.models import Submission
from realtime.publish import publish_to_user

from .events import SUBMISSION_ACCEPTED, SUBMISSION_REJECTED, handles


@handles(SUBMISSION_ACCEPTED)
@handles(SUBMISSION_REJECTED)
def submitter_notify(event):
    """A live notice to the submitter's open pages (the phone's outbox view shows it)."""
    submission = (
        Submission.objects.filter(form_id=event.payload["form"], client_id=event.payload["client_id"])
        .values("pk", "client_id", "status", "status_reason", "submitted_by_id", "latest_revision_id")
        .first()
    )
    reviewed = submission and submission["latest_revision_id"] is not None
    if not reviewed or submission["submitted_by_id"] is None:
        return None  # accepted at once, or nobody to tell: the answer to the POST said it all
    notice = {
        "type": "submission.decided",
        "submission": submission["pk"],
        "client_id": str(submission["client_id"]),
        "status": submission["status"],
        "reason": submission["status_reason"],
    }
    transaction.on_commit(lambda: publish_to_user(submission["submitted_by_id"], notice))
    return {"notified": submission["submitted_by_id"]}
