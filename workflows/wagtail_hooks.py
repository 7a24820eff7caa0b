from wagtail import hooks

from .outbox import relay_after_commit
from .transitions import accepted_event


@hooks.register("submission_companions")
def submission_events(submission):
    return accepted_event(submission)


@hooks.register("submission_after_commit")
def submission_events_relay():
    relay_after_commit()
