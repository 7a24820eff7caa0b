"""The admin's "Situation reports": the reports of the user's area, asked for, followed and
downloaded there.

Every report and document goes through ``reports_visible_to``: a report of an area outside the
user's answers 404, as if it did not exist. Seeing needs ``reports.view_situationreport``
(leaders, province admins), asking needs ``reports.add_situationreport``.
"""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from wagtail.admin.admin_url_finder import NullAdminURLFinder
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.documents.api.admin.views import DocumentsAdminAPIViewSet

from places.forms import scoped_area_field
from places.selectors import scope_queryset

from .models import SituationReport
from .selectors import COMMUNE_DEPTH, MAX_DAYS
from .situation_jobs import COLLECTION_NAME, progress_of, situation_report_request

VIEW, ADD = "reports.view_situationreport", "reports.add_situationreport"
DATE_IN_FUTURE = gettext_lazy("A report can be made for today or an earlier day only.")
DATE_TOO_OLD = gettext_lazy("A report can go back at most %(days)s days.")
REPORT_EXISTS = gettext_lazy(
    "The report of %(report)s exists already: download it below, or tick “Make it again if it exists”."
)
STATUS_IDS_MAX = 100


def reports_visible_to(user) -> QuerySet[SituationReport]:
    """The reports of areas within the user's area, for users who may see reports at all."""
    if not user.has_perm(VIEW):
        return SituationReport.objects.none()
    reports = SituationReport.objects.select_related("area", "document", "requested_by")
    return scope_queryset(reports, user=user)


class RequestForm(forms.Form):
    area = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Area"))
    date = forms.DateField(label=gettext_lazy("Report date"), widget=forms.DateInput(attrs={"type": "date"}))
    again = forms.BooleanField(label=gettext_lazy("Make it again if it exists"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"] = scoped_area_field(user, label=gettext_lazy("Area"))
        self.fields["area"].queryset = self.fields["area"].queryset.filter(depth__lte=COMMUNE_DEPTH)
        self.fields["date"].initial = timezone.localdate()

    def clean_date(self):
        day, today = self.cleaned_data["date"], timezone.localdate()
        if day > today:
            raise forms.ValidationError(DATE_IN_FUTURE)
        if day < today - timedelta(days=MAX_DAYS):
            raise forms.ValidationError(DATE_TOO_OLD % {"days": MAX_DAYS})
        return day


# --- the listing -----------------------------------------------------------------------------


class StatusColumn(Column):
    """The status with a progress bar the page's script keeps up to date while it renders."""

    cell_template_name = "reports/admin/status_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        state = parent_context.get("progress", {}).get(instance.pk) or {
            "status": instance.status,
            "progress": instance.progress,
        }
        context.update(
            report=instance, state=state, label=dict(SituationReport.STATUS_CHOICES)[state["status"]]
        )
        return context


class DownloadColumn(Column):
    cell_template_name = "reports/admin/download_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        request = parent_context.get("request")
        may_add = request is not None and request.user.has_perm(ADD)
        context.update(
            download_url=reverse("situation_reports:download", args=[instance.pk])
            if instance.document_id
            else "",
            again_url=reverse("situation_reports:again", args=[instance.pk]) if may_add else "",
            csrf_token_value=get_token(request) if request is not None else "",
        )
        return context


class ReportIndexView(generic.IndexView):
    template_name = "reports/admin/situation_index.html"
    default_ordering = "-date"

    def get_base_queryset(self):
        return reports_visible_to(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["progress"] = progress_of(list(context["object_list"]))
        context["request_form"] = RequestForm(user=user) if user.has_perm(ADD) else None
        context["request_url"] = reverse("situation_reports:request")
        context["status_url"] = reverse("situation_reports:status")
        context["status_labels"] = {status: str(label) for status, label in SituationReport.STATUS_CHOICES}
        return context


# --- actions -----------------------------------------------------------------------------------


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


@require_POST
def report_request(request):
    """Ask for a report of an area in the user's scope: the existing one unless "make again"."""
    _require(request, ADD)
    form = RequestForm(request.POST, user=request.user)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("situation_reports:index")
    report, queued = situation_report_request(
        area=form.cleaned_data["area"],
        day=form.cleaned_data["date"],
        user=request.user,
        again=form.cleaned_data["again"],
    )
    if queued:
        messages.success(request, _("The report of %(report)s is being made.") % {"report": report})
    else:
        messages.info(
            request,
            REPORT_EXISTS % {"report": report},
        )
    return redirect("situation_reports:index")


@require_POST
def report_again(request, pk: int):
    """Make one listed report again (its numbers may have changed since)."""
    _require(request, ADD)
    report = get_object_or_404(reports_visible_to(request.user), pk=pk)
    situation_report_request(area=report.area, day=report.date, user=request.user, again=True)
    messages.success(request, _("The report of %(report)s is being made again.") % {"report": report})
    return redirect("situation_reports:index")


@require_GET
def report_status(request):
    """{"reports": {id: {status, progress, download}}} of the ids asked for that the user sees
    (others are left out): what the listing's script polls while reports render."""
    ids = [int(value) for value in request.GET.getlist("id")[:STATUS_IDS_MAX] if value.isdigit()]
    reports = list(reports_visible_to(request.user).filter(pk__in=ids))
    states = progress_of(reports)
    return JsonResponse(
        {
            "reports": {
                str(report.pk): {
                    **states[report.pk],
                    "download": (
                        reverse("situation_reports:download", args=[report.pk])
                        if report.document_id
                        else None
                    ),
                }
                for report in reports
            }
        }
    )


@require_GET
def report_download(request, pk: int):
    """The report's PDF, shown in the browser, for users who may see its area."""
    report = get_object_or_404(reports_visible_to(request.user), pk=pk)
    document = report.document
    if document is None:
        raise Http404
    return FileResponse(document.file.open("rb"), filename=document.filename, content_type="application/pdf")


def document_refused(document, request) -> bool:
    """Whether Wagtail's own document URL must answer 404 for this request: the document is a
    situation report's that the user may not see (``before_serve_document`` hook)."""
    reports = SituationReport.objects.filter(document=document)
    if not reports.exists():
        # A report's document that lost its report (a failed replacement) is nobody's to read.
        return document.collection.name == COLLECTION_NAME and not request.user.is_superuser
    return not reports_visible_to(request.user).filter(document=document).exists()


def documents_visible_to(queryset, user):
    """``queryset`` of documents without the situation reports' that the user may not see."""
    hidden = SituationReport.objects.filter(document__isnull=False).exclude(
        pk__in=reports_visible_to(user).values("pk")
    )
    return queryset.exclude(pk__in=hidden.values("document_id"))


class ScopedDocumentsAdminAPIViewSet(DocumentsAdminAPIViewSet):
    """The admin API's documents (/admin/api/main/documents/), which would list every report's
    PDF by title to anyone logged in: a report outside the user's area answers 404 there too."""

    def get_queryset(self):
        return documents_visible_to(super().get_queryset(), self.request.user)


class SituationReportViewSet(ModelViewSet):
    model = SituationReport
    name = "situation_reports"
    icon = "doc-full"
    menu_label = gettext_lazy("Situation reports")
    menu_order = 170
    add_to_admin_menu = True
    index_view_class = ReportIndexView
    copy_view_enabled = False
    list_per_page = 30
    list_display = [
        Column("area", label=gettext_lazy("area")),
        Column(
            "date",
            label=gettext_lazy("report date"),
            accessor=lambda report: date_format(report.date, "d/m/Y"),
        ),
        StatusColumn("status", label=gettext_lazy("status")),
        # The PDF before the details: on a phone the table scrolls sideways.
        DownloadColumn("download", label=gettext_lazy("PDF")),
        Column("requested_by", label=gettext_lazy("requested by")),
        DateColumn("rendered_at", label=gettext_lazy("rendered at")),
    ]

    def get_common_view_kwargs(self, **kwargs):
        return super().get_common_view_kwargs(
            **{"add_url_name": None, "edit_url_name": None, "delete_url_name": None, **kwargs}
        )

    # No edit or detail page: Wagtail's links to a report (in an area's "usage") are left out.
    url_finder_class = NullAdminURLFinder

    def get_urlpatterns(self):
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("request/", report_request, name="request"),
            path("again/<int:pk>/", report_again, name="again"),
            path("status/", report_status, name="status"),
            path("download/<int:pk>/", report_download, name="download"),
        ]
