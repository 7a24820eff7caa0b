"""The page of a background export build: its progress, then the download (export_builds.py).

Only the user who asked sees a build; any other token, or one that expired, answers 404.
"""

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from .export_builds import STATUS_DONE, XLSX_CONTENT_TYPE, build_state, keep_seconds, progress_of


def own_build(request, token: str) -> dict:
    state = build_state(token)
    if state is None or state["user"] != request.user.pk:
        raise Http404
    return state


class BuildView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "forms_engine/admin/export_build.html"
    page_title = _("Export")
    header_icon = "download"

    def get(self, request, *args, **kwargs):
        self.state = own_build(request, kwargs["token"])
        return super().get(request, *args, **kwargs)

    def get_page_subtitle(self):
        return self.state["listing"]

    def get_context_data(self, **kwargs):
        token = self.kwargs["token"]
        return super().get_context_data(
            **kwargs,
            build=self.state,
            keep_hours=round(keep_seconds() / 3600),
            progress=progress_of(self.state),
            status_url=reverse("forms_engine_export_build_status", args=[token]),
            download_url=reverse("forms_engine_export_build_file", args=[token]),
        )


def build_status(request, token: str):
    return JsonResponse(progress_of(own_build(request, token)))


def build_file(request, token: str):
    state = own_build(request, token)
    if state["status"] != STATUS_DONE or not default_storage.exists(state["file"]):
        raise Http404
    return FileResponse(
        default_storage.open(state["file"], "rb"),
        as_attachment=True,
        filename=state["filename"],
        content_type=XLSX_CONTENT_TYPE,
    )
