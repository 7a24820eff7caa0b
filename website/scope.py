"""Scope guards around Wagtail's own views that know nothing of areas.

Wagtail checks model permissions, not areas. Where one of its views takes an object id and
shows something of the object (or of who works on it), the object is first looked up within
the user's area here, and one outside it answers 404, as every view of ours does.
"""

from django.apps import apps
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.http import Http404
from django.urls import path
from django.views.decorators.cache import never_cache
from wagtail.admin.auth import require_admin_access
from wagtail.admin.views import editing_sessions
from wagtail.admin.views.home import WorkflowObjectsToModeratePanel
from wagtail.admin.views.reports.audit_logging import LogEntriesView, SiteHistoryReportFilterSet
from wagtail.admin.views.reports.workflows import (
    WorkflowReportFilterSet,
    WorkflowTasksView,
    WorkflowView,
    get_requested_by_queryset,
)
from wagtail.models import ModelLogEntry

from forms_engine.import_views import jobs_visible_to
from forms_engine.models import Submission
from places.models import Place
from places.selectors import area_scope, areas_visible_to, scope_queryset
from places.users import scope_users
from reports.views import reports_visible_to
from tracing import selectors as tracing

# "app_label.model_name" → the rows of it the user may see: every model whose rows belong to
# an area or a person, with the selector its own views use. tests/security/test_scope_idor.py
# fails when an admin viewset serves a model with such a relation that is missing here.
VISIBLE_TO = {
    "auth.user": lambda user: scope_users(get_user_model().objects.all(), user=user),
    "places.area": lambda user: areas_visible_to(user=user),
    "places.place": lambda user: scope_queryset(Place.objects.all(), user=user),
    "forms_engine.submission": lambda user: scope_queryset(Submission.objects.all(), user=user),
    "forms_engine.importjob": jobs_visible_to,
    "tracing.person": tracing.persons_visible_to,
    "tracing.alert": tracing.alerts_visible_to,
    "tracing.quarantineorder": tracing.orders_visible_to,
    "tracing.duplicatecandidate": tracing.duplicates_visible_to,
    "tracing.cluster": tracing.clusters_visible_to,
    "reports.situationreport": reports_visible_to,
}


def object_in_scope(*, model, pk, user) -> bool:
    """Whether row ``pk`` of ``model`` is one ``user`` may see (any row of a model that belongs
    to no area or person); False for a malformed id, as for a missing one."""
    visible = VISIBLE_TO.get(model._meta.label_lower)
    rows = visible(user) if visible else model._default_manager.all()
    try:
        return rows.filter(pk=pk).exists()
    except (ValueError, TypeError, ValidationError):
        return False


def log_entries_in_scope(queryset, *, user):
    """Log entries (Wagtail's ``ModelLogEntry``) without those of rows outside the user's scope:
    an entry's label is the object's name (a person's, a user's)."""
    if queryset.model is not ModelLogEntry or area_scope(user=user) is True:
        return queryset
    hidden = Q()
    for label, visible in VISIBLE_TO.items():
        content_type = ContentType.objects.get_for_model(apps.get_model(label))
        ids = visible(user).annotate(text_id=Cast("pk", CharField())).values("text_id")
        hidden |= Q(content_type=content_type) & ~Q(object_id__in=ids)
    return queryset.exclude(hidden)


class ScopedSiteHistoryFilterSet(SiteHistoryReportFilterSet):
    def get_user_choices(self):
        return scope_users(super().get_user_choices(), user=self.request.user)


class ScopedSiteHistoryView(LogEntriesView):
    """Wagtail's "Site history" report lists every logged change of the models a user has a
    permission on, whatever their area (a person's name is an entry's label): scoped here."""

    filterset_class = ScopedSiteHistoryFilterSet

    def filter_queryset(self, queryset):
        return log_entries_in_scope(super().filter_queryset(queryset), user=self.request.user)


class ScopedObjectsToModeratePanel(WorkflowObjectsToModeratePanel):
    """Wagtail's "Awaiting your review" on the admin's home. Under a stock group approval task
    (which knows no areas, unlike workflows.tasks.AreaGroupApprovalTask) it would list other
    districts' submissions with who sent them: only those within the user's area stay."""

    def get_context_data(self, parent_context):
        context = super().get_context_data(parent_context)
        user = parent_context["request"].user
        context["states"] = [
            state
            for state in context["states"]
            if object_in_scope(model=type(state["obj"]), pk=state["obj"].pk, user=user)
        ]
        return context


def submissions_in_scope(user, *, prefix: str = "") -> Q:
    """Workflow states (``prefix`` "" ) or task states (``prefix`` "workflow_state__") of
    anything but a submission, or of a submission within the user's area."""
    if area_scope(user=user) is True:
        return Q()
    visible = VISIBLE_TO["forms_engine.submission"](user).values(text_id=Cast("pk", CharField()))
    submissions = ContentType.objects.get_for_model(Submission)
    return ~Q(**{f"{prefix}base_content_type": submissions}) | Q(**{f"{prefix}object_id__in": visible})


class ScopedWorkflowReportFilterSet(WorkflowReportFilterSet):
    """The "requested by" choices: users of the user's area only, not everyone who ever asked."""

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        if request is not None:
            requested_by = self.filters["requested_by"]
            requested_by.queryset = scope_users(get_requested_by_queryset(request), user=request.user)


class ScopedWorkflowView(WorkflowView):
    """Wagtail's "Workflows" report: every object in moderation and who asked, scoped."""

    filterset_class = ScopedWorkflowReportFilterSet

    def get_queryset(self):
        return super().get_queryset().filter(submissions_in_scope(self.request.user))


class ScopedWorkflowTasksView(WorkflowTasksView):
    """Wagtail's "Workflow tasks" report, scoped alike."""

    def get_queryset(self):
        in_scope = submissions_in_scope(self.request.user, prefix="workflow_state__")
        return super().get_queryset().filter(in_scope)


# Wagtail's reports that list other districts' objects, at Wagtail's own paths.
SCOPED_REPORTS = {
    "site-history": ScopedSiteHistoryView,
    "workflow": ScopedWorkflowView,
    "workflow_tasks": ScopedWorkflowTasksView,
}


def report_urlpatterns() -> list:
    """The scoped reports, at the paths of Wagtail's (website/urls.py puts them first, so they
    shadow Wagtail's; its URL names still reverse to the same paths)."""
    patterns = []
    for slug, view in SCOPED_REPORTS.items():
        listing = never_cache(require_admin_access(view.as_view()))
        results = never_cache(require_admin_access(view.as_view(results_only=True)))
        patterns += [
            path(f"admin/reports/{slug}/", listing),
            path(f"admin/reports/{slug}/results/", results),
        ]
    return patterns


@never_cache
@require_admin_access
def editing_session_ping(request, app_label, model_name, object_id, session_id):
    """Wagtail's "who else is editing this" ping answers with the other editors' names: not
    for an object outside the user's area."""
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError as missing:
        raise Http404 from missing
    if not object_in_scope(model=model, pk=unquote(object_id), user=request.user):
        raise Http404
    return editing_sessions.ping(request, app_label, model_name, object_id, session_id)
