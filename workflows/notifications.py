"""Emails about reviews, through Wagtail's notification machinery (templates, language, account settings)."""

from wagtail.admin.mail import EmailNotificationMixin, Notifier
from wagtail.models import TaskState


class OverdueReviewEmailNotifier(EmailNotificationMixin, Notifier):
    """Tells reviewers that a review has waited past its due time."""

    # The account setting for "submitted for moderation" emails covers these reminders too:
    # whoever turned it off is not emailed (the live notice still reaches their open pages).
    notification = "submitted"
    template_directory = "workflows/notifications/"

    def __init__(self):
        super().__init__((TaskState,))

    def get_template_set(self, instance, **kwargs):
        base = f"{self.template_directory}review_overdue"
        return {"subject": f"{base}_subject.txt", "text": f"{base}.txt", "html": f"{base}.html"}

    def get_recipient_users(self, task_state, *, reviewers=(), **kwargs):
        return set(reviewers)

    def get_context(self, task_state, *, obj=None, due_at=None, now=None, **kwargs):
        context = super().get_context(task_state, **kwargs)
        context.update(task=task_state.task, object=obj, due_at=due_at, now=now)
        return context


def overdue_email(task_state, *, reviewers, obj, due_at, now) -> bool:
    """Email each reviewer in their own language; True when every email went."""
    return OverdueReviewEmailNotifier()(task_state, reviewers=reviewers, obj=obj, due_at=due_at, now=now)
