"""Bulk approval in the submissions listing: many negative results at once, each through its
own workflow task, only where the user may approve it."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.snippets.bulk_actions.snippet_bulk_action import SnippetBulkAction

from places.selectors import is_in_scope, scope_queryset

from .models import Submission


def approvable_task_state(submission: Submission, user):
    """The task state ``user`` may approve on ``submission`` now, else None."""
    task_state = submission.current_workflow_task_state
    if task_state is None:
        return None
    actions = task_state.task.specific.get_actions(submission, user)
    return task_state if any(name == "approve" for name, _label, _modal in actions) else None


class ApproveBulkAction(SnippetBulkAction):
    display_name = _("Approve")
    action_type = "approve"
    aria_label = _("Approve the selected submissions")
    template_name = "forms_engine/admin/confirm_bulk_approve.html"
    action_priority = 10
    models = [Submission]

    def get_all_objects_in_listing_query(self, parent_id):
        return scope_queryset(Submission.objects.all(), user=self.request.user).values_list("pk", flat=True)

    def get_actionable_objects(self):
        """A submission outside the user's area answers 404 for the whole request, rather than
        being listed by name among those the user "has no permission" for."""
        objects, extra = super().get_actionable_objects()
        asked = [*objects, *extra["items_with_no_access"]]
        ids = [submission.pk for submission in asked]
        in_scope = scope_queryset(Submission.objects.filter(pk__in=ids), user=self.request.user)
        if in_scope.count() != len(asked):
            raise Http404
        return objects, extra

    def check_perm(self, submission):
        user = self.request.user
        return is_in_scope(submission, user=user) and approvable_task_state(submission, user) is not None

    @classmethod
    def execute_action(cls, objects, **kwargs):
        user = kwargs["self"].request.user
        approved = 0
        for submission in objects:
            task_state = approvable_task_state(submission, user)
            if task_state is not None:  # another approver may have acted meanwhile
                task_state.task.specific.on_action(task_state, user, "approve")
                approved += 1
        return approved, 0

    def get_success_message(self, num_parent_objects, num_child_objects):
        return ngettext(
            "%(count)d submission approved.", "%(count)d submissions approved.", num_parent_objects
        ) % {"count": num_parent_objects}
