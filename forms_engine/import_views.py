"""The admin's import screens: upload, the dry run's preview and confirmation, progress, result.

A job is seen only by users whose area contains the importer's (a superuser's import, made
for the whole tree, only by superusers); any other id answers 404, as if it did not exist.
"""

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django.views.generic import FormView, TemplateView
from wagtail.admin import messages
from wagtail.admin.auth import permission_required
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from audit.services import access_record, export_detail
from places.selectors import area_scope

from .import_files import FileRefused
from .imports import import_job_confirm, import_job_create
from .models import FormPage, ImportJob

IMPORT_PERMISSION = "forms_engine.add_importjob"
# What else a kind of import needs: the rights to make and change those rows by hand.
KIND_PERMISSIONS = {
    ImportJob.KIND_SUBMISSIONS: (),
    ImportJob.KIND_AREAS: ("places.add_area", "places.change_area"),
    ImportJob.KIND_PLACES: ("places.add_place", "places.change_place"),
    ImportJob.KIND_PERSONS: ("tracing.change_person",),
    ImportJob.KIND_USERS: ("auth.add_user", "auth.change_user"),
}
CONFIRM_CHOICES = [
    ("all", _("All or nothing: import nothing if a row fails")),
    ("valid", _("Import only the valid rows")),
]


def jobs_visible_to(user):
    """The import jobs of the user's area (and the areas inside it)."""
    scope = area_scope(user=user)
    jobs = ImportJob.objects.select_related("form", "created_by", "scope_area")
    if scope is True:
        return jobs
    if scope is None:
        return jobs.none()
    return jobs.filter(scope_area__path__startswith=scope.path)


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportJob.KIND_CHOICES)
    form = forms.ModelChoiceField(
        label=_("Form"),
        queryset=FormPage.objects.none(),
        required=False,
        help_text=_("For submissions: the form whose field keys are the file's columns."),
    )
    file = forms.FileField(label=_("File (CSV UTF-8, XLSX or JSON)"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["form"].queryset = FormPage.objects.live().filter(versions__isnull=False).distinct()
        self.fields["kind"].choices = [
            (kind, label) for kind, label in ImportJob.KIND_CHOICES if user.has_perms(KIND_PERMISSIONS[kind])
        ]


class UploadView(WagtailAdminTemplateMixin, FormView):
    template_name = "forms_engine/admin/import_upload.html"
    page_title = _("Import a file")
    header_icon = "upload"
    breadcrumbs_items = []
    form_class = UploadForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["jobs"] = jobs_visible_to(self.request.user)[:20]
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            job = import_job_create(
                user=self.request.user, kind=data["kind"], upload=data["file"], form=data["form"]
            )
        except FileRefused as refusal:
            form.add_error("file", refusal.message)
            return self.form_invalid(form)
        return redirect("forms_engine_import_job", job.pk)


class JobView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "forms_engine/admin/import_job.html"
    header_icon = "upload"
    breadcrumbs_items = []

    def get_page_title(self):
        return str(self.job)

    def dispatch(self, request, *args, **kwargs):
        self.job = get_object_or_404(jobs_visible_to(request.user), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = self.job
        columns = list(job.preview.get("rows", [{}])[0].get("values", {})) if job.preview.get("rows") else []
        context.update(
            job=job,
            preview_columns=columns,
            confirm_choices=CONFIRM_CHOICES,
            status_url=reverse("forms_engine_import_status", args=[job.pk]),
        )
        return context


@permission_required(IMPORT_PERMISSION)
def upload_view(request):
    return UploadView.as_view()(request)


@permission_required(IMPORT_PERMISSION)
def job_view(request, pk: int):
    return JobView.as_view()(request, pk=pk)


@permission_required(IMPORT_PERMISSION)
def job_status(request, pk: int):
    """What the progress bar polls: JSON, cheap, one query."""
    job = get_object_or_404(jobs_visible_to(request.user), pk=pk)
    return JsonResponse(
        {
            "id": job.pk,
            "status": job.status,
            "status_label": job.get_status_display(),
            "running": job.is_running,
            "progress": job.progress,
            "counts": {
                "new": job.count_new,
                "updated": job.count_updated,
                "skipped": job.count_skipped,
                "failed": job.count_failed,
            },
            "message": job.message,
        }
    )


@require_POST
@permission_required(IMPORT_PERMISSION)
def job_confirm(request, pk: int):
    job = get_object_or_404(jobs_visible_to(request.user), pk=pk)
    if job.created_by_id != request.user.pk and not request.user.is_superuser:
        raise PermissionDenied  # only the importer starts what they checked
    choice = request.POST.get("mode", "all")
    try:
        import_job_confirm(job=job, all_or_nothing=choice != "valid")
    except FileRefused as refusal:
        messages.error(request, refusal.message)
    return redirect("forms_engine_import_job", job.pk)


@permission_required(IMPORT_PERMISSION)
def job_errors(request, pk: int):
    """Every row error of the last run, as the CSV the job wrote (cells neutralised)."""
    job = get_object_or_404(jobs_visible_to(request.user), pk=pk)
    if not job.errors_file:
        raise Http404
    # The rows that failed, as they were uploaded: personal data leaving the system, audited.
    access_record(
        request=request,
        action="export",
        kind="export:forms_engine.importjob",
        object_id=job.pk,
        outcome="exported",
        detail=export_detail(rows=job.count_failed, kind=job.kind, file="errors"),
    )
    return FileResponse(
        job.errors_file.open("rb"),
        as_attachment=True,
        filename=f"import-{job.pk}-errors.csv",
        content_type="text/csv; charset=utf-8",
    )
