"""Custom Wagtail task types for submission workflows, and the due time of reviews.

- ``AreaGroupApprovalTask``: Wagtail's group approval, where each member reviews only the
  submissions inside their own area; optionally due within some hours (``overdue_notify``).
- ``RuleTask``: decides by itself from the submitted data, with a condition in the show_if
  language of form fields.

Being Task subclasses is what lists them in Settings › Workflows › Tasks; workflows/models.py
imports them so that Django finds their models.
"""

import operator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial, reduce

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.admin.admin_url_finder import AdminURLFinder
from wagtail.models import AbstractGroupApprovalTask, Task, TaskState

from forms_engine.models import Submission
from places.selectors import area_scope, is_in_scope, scope_queryset
from realtime.publish import publish_to_user

from .conditions import condition_errors, condition_holds, condition_validate
from .forms import ConditionFormField
from .notifications import overdue_email

# --- area-scoped group approval ------------------------------------------------------------------


class AreaTaskState(TaskState):
    """The state of an area-scoped approval; it remembers when its reviewers were told it is late.

    Having its own class also keeps Wagtail's stock "submitted for moderation" email (connected
    for plain TaskState) from telling every member of the groups, whatever their area, about
    each new submission: reviewers find new work in their inbox, and are told of late work.
    """

    overdue_notified_at = models.DateTimeField(
        _("reviewers told it is overdue at"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("area approval task state")
        verbose_name_plural = _("area approval task states")


def submission_in_scope(user) -> Q:
    """Task states whose object is anything but a submission, or a submission in the user's area."""
    if area_scope(user=user) is True:
        return Q()
    # WorkflowState.object_id is text: compare it with the text of the visible submissions' ids.
    visible = scope_queryset(Submission.objects.all(), user=user).values(key=Cast("pk", CharField()))
    submissions = ContentType.objects.get_for_model(Submission)
    return ~Q(workflow_state__base_content_type=submissions) | Q(workflow_state__object_id__in=visible)


class AreaGroupApprovalTask(AbstractGroupApprovalTask):
    """Members of the chosen groups approve the submissions inside their own area.

    A district member reviews their district's submissions; a province-level member (or a
    superuser) any. To everyone else a submission on this step does not exist: no actions,
    not in their inbox, no editor, no lock. Objects other than submissions have no area and
    are reviewed as under Wagtail's group approval.
    """

    groups = models.ManyToManyField(
        Group,
        verbose_name=_("groups"),
        help_text=_(
            "Members of these groups review the submissions inside their own area (the area set on "
            "each user); members at province level review all."
        ),
    )
    due_hours = models.PositiveIntegerField(
        _("due within (hours)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Reviews still waiting after this many hours are marked overdue, and their reviewers "
            "are told once. Empty: no due time."
        ),
    )

    admin_form_fields = [*AbstractGroupApprovalTask.admin_form_fields, "due_hours"]
    task_state_class = AreaTaskState

    class Meta:
        verbose_name = _("area group approval")
        verbose_name_plural = _("area group approvals")

    @classmethod
    def get_description(cls):
        return _(
            "Members of the chosen groups approve the submissions inside their own area; "
            "province-level members approve any."
        )

    def in_scope(self, obj, user) -> bool:
        """Whether ``obj`` lies in the user's area; only submissions have an area."""
        return not isinstance(obj, Submission) or is_in_scope(obj, user=user)

    def user_can_access_editor(self, obj, user):
        return super().user_can_access_editor(obj, user) and self.in_scope(obj, user)

    def locked_for_user(self, obj, user):
        return super().locked_for_user(obj, user) or not self.in_scope(obj, user)

    def user_can_lock(self, obj, user):
        return super().user_can_lock(obj, user) and self.in_scope(obj, user)

    def get_actions(self, obj, user):
        return super().get_actions(obj, user) if self.in_scope(obj, user) else []

    def get_task_states_user_can_moderate(self, user, **kwargs):
        states = super().get_task_states_user_can_moderate(user, **kwargs)
        return states.filter(submission_in_scope(user))

    def reviewers(self, obj) -> list:
        """The active members of the groups who may act on ``obj`` now."""
        members = get_user_model().objects.filter(is_active=True, groups__in=self.groups.all()).distinct()
        return [user for user in members if self.get_actions(obj, user)]


# --- rule step -------------------------------------------------------------------------------------


class ConditionField(models.JSONField):
    """A condition in the show_if language, edited in the admin as rows (workflows/forms.py)."""

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": ConditionFormField, **kwargs})


ACCEPTED_COMMENT = _("Approved by the rule: its condition holds.")
SKIPPED_COMMENT = _('Not needed: the rule step "%(rule)s" approved the submission.')
PASSED_ON_COMMENT = _("Passed on: the rule's condition does not hold.")
HELD_COMMENT = _(
    "The rule's condition does not hold and no step follows to pass the submission on to: "
    "an administrator decides."
)
REASON_REQUIRED = _("Enter the reason the submitter will see.")


class RuleTask(Task):
    """Decides by itself, when it starts, from the submitted data.

    The condition holds: the step approves, and the steps after it are skipped (the workflow
    ends approved: the submission is accepted). Otherwise, as chosen: it passes the submission
    on to the next step, or rejects it with the configured reason. A rule that would pass on
    with no step left after it never accepts silently: the submission stays in review on this
    step, and only superusers may approve or reject it there.
    """

    OTHERWISE_PASS_ON = "pass_on"  # noqa: S105 - a choice, not a password
    OTHERWISE_REJECT = "reject"
    OTHERWISE_CHOICES = [
        (OTHERWISE_PASS_ON, _("Pass it on to the next step")),
        (OTHERWISE_REJECT, _("Reject it")),
    ]

    condition = ConditionField(
        _("condition"),
        validators=[condition_validate],
        help_text=_(
            "Field keys of the form and the values that make this step approve the submission "
            "by itself, e.g. field key result, equals, value negative. A person's detail is "
            "written with a dot: patient.national_id."
        ),
    )
    otherwise = models.CharField(
        _("otherwise"),
        max_length=16,
        choices=OTHERWISE_CHOICES,
        default=OTHERWISE_PASS_ON,
        help_text=_(
            "When the condition does not hold. With no step after this one to pass it on to, the "
            "submission waits here for an administrator."
        ),
    )
    reject_reason = models.CharField(
        _("reason for rejecting"),
        max_length=300,
        blank=True,
        help_text=_("Shown to the submitter when this step rejects."),
    )

    admin_form_fields = [*Task.admin_form_fields, "condition", "otherwise", "reject_reason"]

    class Meta:
        verbose_name = _("rule step")
        verbose_name_plural = _("rule steps")

    @classmethod
    def get_description(cls):
        return _(
            "Approves by itself when the submitted data meet a condition; otherwise passes on or rejects."
        )

    def clean(self):
        super().clean()
        if self.otherwise == self.OTHERWISE_REJECT and not self.reject_reason.strip():
            raise ValidationError({"reject_reason": REASON_REQUIRED})

    def holds_for(self, task_state) -> bool:
        """Whether the reviewed revision's data meet the condition; a broken rule never approves."""
        data = getattr(task_state.revision.as_object(), "data", None)
        if condition_errors(self.condition) or not isinstance(data, dict):
            return False
        return condition_holds(self.condition, data)

    def start(self, workflow_state, user=None):
        task_state = super().start(workflow_state, user=user)
        # user=None on what the rule decides: the history shows no person approved or rejected.
        if self.holds_for(task_state):
            self.accept(task_state)
        elif self.otherwise == self.OTHERWISE_REJECT:
            task_state.reject(update=False, comment=self.reject_reason)
        elif steps_left(workflow_state).exclude(pk=self.pk).exists():
            finish_as_skipped(task_state, comment=gettext(PASSED_ON_COMMENT))
        else:
            task_state.comment = gettext(HELD_COMMENT)
            task_state.save(update_fields=["comment"])
        # Wagtail's WorkflowState.update moves on from a task state that is no longer in progress.
        return task_state

    def accept(self, task_state) -> None:
        """Approve, and skip the steps left: the rule has decided the whole workflow."""
        task_state.approve(update=False, comment=gettext(ACCEPTED_COMMENT))
        comment = gettext(SKIPPED_COMMENT) % {"rule": self.name}
        for task in steps_left(task_state.workflow_state).specific():
            skipped = task.get_task_state_class()(
                workflow_state=task_state.workflow_state, revision=task_state.revision, task=task
            )
            finish_as_skipped(skipped, comment=comment)

    def get_actions(self, obj, user):
        """A submission waits on a rule step only when held; superusers decide it."""
        if not user.is_superuser:
            return []
        return [
            ("reject", _("Request changes"), True),
            ("approve", _("Approve"), False),
            ("approve", _("Approve with comment"), True),
        ]

    def get_task_states_user_can_moderate(self, user, **kwargs):
        if not user.is_superuser:
            return TaskState.objects.none()
        return self.task_states.filter(status=TaskState.STATUS_IN_PROGRESS)


def steps_left(workflow_state) -> QuerySet[Task]:
    """The workflow's active tasks not yet approved or skipped, in order."""
    return workflow_state.workflow.tasks.filter(active=True).exclude(
        task_states__in=workflow_state.successful_task_states
    )


def finish_as_skipped(task_state, *, comment: str) -> None:
    """Wagtail's "skipped": the workflow counts the step as done and moves past it."""
    task_state.status = TaskState.STATUS_SKIPPED
    task_state.finished_at = timezone.now()
    task_state.comment = comment
    task_state.save()


# --- due time ---------------------------------------------------------------------------------------


def overdue_task_states(*, now: datetime) -> QuerySet[AreaTaskState]:
    """Reviews in progress past their task's due time whose reviewers were not told yet."""
    due = AreaGroupApprovalTask.objects.filter(active=True, due_hours__isnull=False)
    late = [
        Q(task_id=pk, started_at__lte=now - timedelta(hours=hours))
        for pk, hours in due.values_list("pk", "due_hours")
    ]
    return AreaTaskState.objects.filter(
        reduce(operator.or_, late, Q(pk__in=[])),
        status=TaskState.STATUS_IN_PROGRESS,
        overdue_notified_at=None,
    )


def overdue_notify(now: datetime | None = None) -> int:
    """Tell the reviewers of each review past its due time, once; the number of reviews told of.

    The scheduler calls this periodically. Reviewers are the task's group members who may act
    on the submission (in its area): a Wagtail notification email, and a live notice to their
    open pages, both sent once the claim has committed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # Two schedulers at once: each claims (locks, then marks) the reviews the other has not.
        claimed = list(
            overdue_task_states(now=now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("task", "workflow_state")
        )
        AreaTaskState.objects.filter(pk__in=[s.pk for s in claimed]).update(overdue_notified_at=now)
        for task_state in claimed:
            transaction.on_commit(partial(overdue_tell, task_state, now=now))
    return len(claimed)


def overdue_tell(task_state: AreaTaskState, *, now: datetime) -> None:
    task = task_state.task.specific
    obj = task_state.workflow_state.content_object
    if obj is None:
        return  # deleted since
    reviewers = task.reviewers(obj)
    due_at = task_state.started_at + timedelta(hours=task.due_hours or 0)
    overdue_email(task_state, reviewers=reviewers, obj=obj, due_at=due_at, now=now)
    for user in reviewers:
        url = AdminURLFinder(user).get_edit_url(obj)  # per user: the link depends on their permissions
        publish_to_user(user.pk, overdue_notice(task_state, obj, due_at=due_at, url=url))


def overdue_notice(task_state, obj, *, due_at: datetime, url: str | None) -> dict:
    return {
        "type": "review.overdue",
        "task_state": task_state.pk,
        "task": task_state.task.name,
        "object": str(obj),
        "submission": obj.pk if isinstance(obj, Submission) else None,
        "area": obj.area.code if getattr(obj, "area", None) else None,
        "due_at": due_at.isoformat(),
        "url": url,
    }


@dataclass
class OverdueReview:
    task_state: TaskState
    obj: object
    due_at: datetime
    url: str | None


def overdue_reviews(*, user, now: datetime | None = None) -> list[OverdueReview]:
    """The reviews the user may act on that are past their due time, most overdue first."""
    now = now or timezone.now()
    finder = AdminURLFinder(user)
    reviews = []
    for task in AreaGroupApprovalTask.objects.filter(active=True, due_hours__isnull=False):
        due = timedelta(hours=task.due_hours)
        late = task.get_task_states_user_can_moderate(user).filter(started_at__lte=now - due)
        for task_state in late.select_related("task").prefetch_related("workflow_state__content_object"):
            obj = task_state.workflow_state.content_object
            if obj is not None:
                due_at = task_state.started_at + due
                reviews.append(OverdueReview(task_state, obj, due_at, finder.get_edit_url(obj)))
    return sorted(reviews, key=lambda review: review.due_at)
