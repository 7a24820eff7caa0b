"""Outbox handlers of the tracing app: importing this module registers them (not yet done at
app ready: see apps.py)."""

from workflows.events import SUBMISSION_ACCEPTED, handles, submission_of

from .services import submission_persons_resolve


@handles(SUBMISSION_ACCEPTED, queue="tracing")
def persons_resolve(event):
    """Every accepted submission's persons, in the registry (idempotent: linked once)."""
    submission = submission_of(event)
    if submission is None:
        return None
    return {"persons": [link.person_id for link in submission_persons_resolve(submission)]}
