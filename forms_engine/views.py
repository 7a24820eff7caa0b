"""The admin's submission listings (scoped by area) and the detail view with version labels."""

import json

import django_filters
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from wagtail.admin.auth import permission_required
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import DateColumn
from wagtail.admin.widgets import Button
from wagtail.log_actions import log
from wagtail.snippets.views import chooser as snippet_chooser
from wagtail.snippets.views import snippets as snippet_views
from wagtail.snippets.views.chooser import SnippetChooserViewSet
from wagtail.snippets.views.snippets import SnippetViewSet

from audit.services import access_record, export_detail
from places.forms import AreaChoiceField
from places.models import Area
from places.selectors import areas_visible_to, is_in_scope, scope_queryset
from places.views import ScopedIndexView

from .display import submission_rows
from .export_builds import build_of, build_write, export_build_start
from .exports import (
    CHUNK_ROWS,
    csv_response,
    data_without_personal,
    export_max_rows,
    may_see_personal,
    personal_paths,
)
from .models import FormPage, Submission
from .resources import SubmissionResource
from .review import (
    DATA_HEADING,
    FACTS_HEADING,
    SubmissionDataPanel,
    SubmissionEditHandler,
    SubmissionFactsPanel,
    SubmissionReviewForm,
)
from .selectors import may_use_staff_form

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def submission_search(queryset, *, query: str):
    """Client id, or any text in the data (names, phones, plates), case-insensitively."""
    text = query.strip()
    # SQLite keeps JSON with non-ASCII letters escaped (\u1ed9); PostgreSQL keeps them as is.
    escaped = json.dumps(text)[1:-1]
    return queryset.annotate(data_text=Cast("data", TextField())).filter(
        Q(data_text__icontains=text) | Q(data_text__icontains=escaped) | Q(client_id__startswith=text.lower())
    )


class AreaSubtreeFilter(django_filters.ModelChoiceFilter):
    field_class = AreaChoiceField

    def filter(self, queryset, area):
        return queryset.filter(area__path__startswith=area.path) if area else queryset


class SubmissionFilterSet(WagtailFilterSet):
    form = django_filters.ModelChoiceFilter(queryset=FormPage.objects.all(), label=_("form"))
    status = django_filters.ChoiceFilter(choices=Submission.STATUS_CHOICES, label=_("status"))
    source = django_filters.ChoiceFilter(choices=Submission.SOURCE_CHOICES, label=_("source"))
    area = AreaSubtreeFilter(queryset=Area.objects.none(), label=_("area"))
    created_at = django_filters.DateFromToRangeFilter(label=_("received at"), widget=DateRangePickerWidget)

    class Meta:
        model = Submission
        fields = ["form", "status", "source", "place", "area", "created_at"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        if request is not None:
            self.filters["area"].queryset = areas_visible_to(user=request.user).order_by("path")


class ScopedObjectMixin:
    """Any view of one submission: one outside the user's area answers 404, as if absent."""

    def get_base_object_queryset(self):
        return scope_queryset(super().get_base_object_queryset(), user=self.request.user)

    def get_object(self, *args, **kwargs):
        obj = super().get_object(*args, **kwargs)
        if not is_in_scope(obj, user=self.request.user):
            raise Http404
        return obj


class SubmissionIndexView(ScopedIndexView, snippet_views.IndexView):
    # places' ScopedIndexView brings the listing exports (forms_engine/exports.py).
    search_function = staticmethod(submission_search)

    def export_item(self, submission):
        """Without the right to see persons, the data goes out without names, IDs, phones…"""
        if not may_see_personal(self.request.user):
            submission.data = data_without_personal(submission.data, submission.version.schema)
        return submission

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("form", "version", "area", "place", "submitted_by")

    @cached_property
    def header_more_buttons(self):
        """Once the listing is narrowed to one form, its export (a column per field key)."""
        form_id = self.request.GET.get("form", "")
        if not form_id.isdigit():
            return super().header_more_buttons
        exports = [
            Button(
                EXPORT_LABEL % {"format": fmt.upper()},
                url=reverse("submission_export", args=[form_id, fmt]),
                icon_name="download",
                priority=60,
            )
            for fmt in EXPORT_FORMATS
        ]
        return [*super().header_more_buttons, *exports]


EXPORT_FORMATS = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_TYPE}
EXPORT_LABEL = _("Export this form's submissions (%(format)s)")


@permission_required("forms_engine.view_submission")
def submission_export(request, form_id: int, fmt: str):
    """One form's submissions in the user's area, as CSV (streamed) or XLSX, logged; without
    the personal columns for users who may not see persons."""
    if fmt not in EXPORT_FORMATS:
        raise Http404
    form = get_object_or_404(FormPage, pk=form_id)
    version = form.current_version
    # A form of another district answers 404 as if absent (an empty export would confirm it).
    if version is None or not may_use_staff_form(form, user=request.user):
        raise Http404
    queryset = scope_queryset(Submission.objects.filter(form=form), user=request.user).order_by("created_at")
    count = queryset.count()
    resource = _resource_for(request.user, version)
    filename = f"{form.slug}-{timezone.localdate().isoformat()}"
    if build := build_of(request):  # the background build of a large spreadsheet
        return build_write(build, *_resource_rows(resource, queryset))
    log(instance=form, action="forms_engine.export", user=request.user, data={"format": fmt, "rows": count})
    access_record(
        request=request,
        action="export",
        kind="export:forms_engine.submission",
        object_id=form.pk,
        outcome="exported",
        detail=export_detail(rows=count, fmt=fmt, form=form.slug),
    )
    if fmt == "csv":
        return csv_response(request, *_resource_rows(resource, queryset), filename=filename)
    if count > export_max_rows():
        return export_build_start(request, rows=count, filename=filename, listing=form.title)
    content = resource.export_with_labels(queryset).export(fmt)
    return HttpResponse(
        content,
        content_type=EXPORT_FORMATS[fmt],
        headers={"Content-Disposition": content_disposition_header(True, f"{filename}.{fmt}")},
    )


def _resource_for(user, version) -> SubmissionResource:
    resource = SubmissionResource(version=version)
    if not may_see_personal(user):
        hidden = personal_paths(version.schema)
        resource.columns = [(path, label) for path, label in resource.columns if path not in hidden]
        resource.fields = {path: field for path, field in resource.fields.items() if path not in hidden}
    return resource


def _resource_rows(resource: SubmissionResource, queryset):
    """(headings, rows) of a streamed CSV: the keys, then the labels as the first row."""
    fields = list(resource.fields.values())

    def rows():
        yield [str(label) for _path, label in resource.columns]
        for submission in queryset.select_related("version", "area", "place").iterator(chunk_size=CHUNK_ROWS):
            yield [resource.export_field(field, submission) for field in fields]

    return [path for path, _label in resource.columns], rows()


class AuditedViewMixin:
    """A page that shows one submission's data (its detail, its review form): audited."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        shown = self.object
        access_record(
            request=request, action="view", kind="submission", object_id=shown.pk, area=shown.area_id
        )
        return response


class SubmissionInspectView(AuditedViewMixin, ScopedObjectMixin, snippet_views.InspectView):
    template_name = "forms_engine/admin/submission_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = submission_rows(self.object.version.schema, self.object.data)
        return context


def scoped_view(view_class):
    """``view_class`` answering 404 for a submission outside the user's area."""
    return type(f"Scoped{view_class.__name__}", (ScopedObjectMixin, view_class), {})


# Every view of one submission (edit and review, history, revisions, workflow actions, locks…).
OBJECT_VIEWS = [
    "edit_view_class",
    "delete_view_class",
    "usage_view_class",
    "history_view_class",
    "revisions_view_class",
    "revisions_compare_view_class",
    "revisions_unschedule_view_class",
    "unpublish_view_class",
    "preview_on_edit_view_class",
    "lock_view_class",
    "unlock_view_class",
    "workflow_action_view_class",
    "collect_workflow_action_data_view_class",
    "confirm_workflow_cancellation_view_class",
    "workflow_preview_view_class",
    "workflow_history_view_class",
    "workflow_history_detail_view_class",
]


class ScopedChooserMixin:
    """A chooser (its listing, search, and the chosen answers) of submissions in the user's area
    only: one outside it answers 404, as if absent."""

    def scoped(self, queryset):
        return scope_queryset(queryset, user=self.request.user)

    def get_object_list(self):
        return self.scoped(super().get_object_list())

    def get_object(self, pk):
        return self.scoped(Submission.objects.all()).get(pk=pk)

    def get_objects(self, pks):
        return self.scoped(super().get_objects(pks))


class SubmissionChooserViewSet(SnippetChooserViewSet):
    choose_view_class = type("ScopedChooseView", (ScopedChooserMixin, snippet_chooser.ChooseView), {})
    choose_results_view_class = type(
        "ScopedChooseResultsView", (ScopedChooserMixin, snippet_chooser.ChooseResultsView), {}
    )
    chosen_view_class = type("ScopedChosenView", (ScopedChooserMixin, snippet_chooser.SnippetChosenView), {})
    chosen_multiple_view_class = type(
        "ScopedChosenMultipleView", (ScopedChooserMixin, snippet_chooser.SnippetChosenMultipleView), {}
    )


class SubmissionViewSet(SnippetViewSet):
    """Submissions as Wagtail snippets: listed and opened only inside the user's area, reviewed
    under their form's workflow (the edit view is the approver's review screen)."""

    model = Submission
    icon = "form"
    menu_label = _("Submissions")
    menu_order = 150
    add_to_admin_menu = True
    admin_url_namespace = "submissions"
    base_url_path = "submissions"
    index_view_class = SubmissionIndexView
    inspect_view_class = SubmissionInspectView
    chooser_viewset_class = SubmissionChooserViewSet
    inspect_view_enabled = True
    copy_view_enabled = False
    filterset_class = SubmissionFilterSet
    search_fields = ["client_id"]  # enables the search box; SubmissionIndexView searches the data
    list_per_page = 50
    list_display = [
        "__str__",
        "form",
        DateColumn("created_at", label=_("received at")),
        "status",
        "area",
        "place",
        "source",
    ]
    list_export = [
        "id",
        "client_id",
        "form",
        "version",
        "status",
        "source",
        "area",
        "place",
        "created_at",
        "data",
    ]
    export_filename = "submissions"
    edit_handler = SubmissionEditHandler(
        [SubmissionFactsPanel(heading=FACTS_HEADING), SubmissionDataPanel(heading=DATA_HEADING)],
        base_form_class=SubmissionReviewForm,
    )

    def get_urlpatterns(self):
        # Submissions arrive through forms, the API and imports: never made in the admin.
        return [pattern for pattern in super().get_urlpatterns() if pattern.name not in ("add", "copy")]

    def get_index_view_kwargs(self, **kwargs):
        return {**super().get_index_view_kwargs(**kwargs), "add_url_name": None}


for _view in OBJECT_VIEWS:
    setattr(SubmissionViewSet, _view, scoped_view(getattr(SnippetViewSet, _view)))
# The edit view is where an approver reads the submission, the comparison of two revisions shows
# its data too: opening either is audited like the detail.
for _view in ("edit_view_class", "revisions_compare_view_class"):
    _scoped = getattr(SubmissionViewSet, _view)
    setattr(SubmissionViewSet, _view, type(f"Audited{_scoped.__name__}", (AuditedViewMixin, _scoped), {}))
