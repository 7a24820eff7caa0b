from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.snippets.models import register_snippet

from . import qr_admin  # noqa: F401 - registers the QR poster views and buttons
from .bulk_approve import ApproveBulkAction
from .views import SubmissionViewSet, submission_export

register_snippet(SubmissionViewSet)
hooks.register("register_bulk_action", ApproveBulkAction)


@hooks.register("register_admin_urls")
def register_export_urls():
    return [path("submissions/export/<int:form_id>.<str:fmt>", submission_export, name="submission_export")]


@hooks.register("register_log_actions")
def register_export_log_action(actions):
    actions.register_action("forms_engine.export", _("Export submissions"), _("Exported submissions"))
