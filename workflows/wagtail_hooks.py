from wagtail import hooks

from .outbox import relay_after_commit
from .panels import OverdueReviewsPanel
from .transitions import accepted_event


@hooks.register("submission_companions")
def submission_events(submission):
    return accepted_event(submission)


@hooks.register("submission_after_commit")
def submission_events_relay():
    relay_after_commit()


@hooks.register("construct_homepage_panels")
def add_overdue_reviews_panel(request, panels):
    panels.append(OverdueReviewsPanel())
