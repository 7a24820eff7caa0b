from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.snippets.models import register_snippet

from . import qr_admin  # noqa: F401 - registers the QR poster views and buttons
from .bulk_approve import ApproveBulkAction
from .views import SubmissionViewSet, submission_export

register_snippet(SubmissionViewSet)
hooks.register("register_bulk_action", ApproveBulkAction)


@hooks.register("register_admin_urls")
def register_export_urls():
    from . import export_build_views as builds

    return [
        path("submissions/export/<int:form_id>.<str:fmt>", submission_export, name="submission_export"),
        path("exports/<str:token>/", builds.BuildView.as_view(), name="forms_engine_export_build"),
        path("exports/<str:token>/status.json", builds.build_status, name="forms_engine_export_build_status"),
        path("exports/<str:token>/file.xlsx", builds.build_file, name="forms_engine_export_build_file"),
    ]


@hooks.register("register_log_actions")
def register_export_log_action(actions):
    actions.register_action("forms_engine.export", _("Export submissions"), _("Exported submissions"))


# --- bulk imports (imports.py, import_views.py) ----------------------------------------------


@hooks.register("register_admin_urls")
def register_import_urls():
    from . import import_views as views

    return [
        path("imports/", views.upload_view, name="forms_engine_import_upload"),
        path("imports/<int:pk>/", views.job_view, name="forms_engine_import_job"),
        path("imports/<int:pk>/status.json", views.job_status, name="forms_engine_import_status"),
        path("imports/<int:pk>/confirm/", views.job_confirm, name="forms_engine_import_confirm"),
        path("imports/<int:pk>/errors.csv", views.job_errors, name="forms_engine_import_errors"),
    ]


class ImportMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm("forms_engine.add_importjob")


@hooks.register("register_admin_menu_item")
def register_import_menu_item():
    return ImportMenuItem(_("Imports"), reverse("forms_engine_import_upload"), icon_name="upload", order=450)


@hooks.register("register_importers")
def place_importers():
    """Areas, places and users (places/resources.py) as import kinds."""
    from places.resources import AreaResource, PlaceResource, UserResource

    from .imports import ResourceImporter

    return {
        "areas": lambda job: ResourceImporter(AreaResource(scope_area=job.scope_area)),
        "places": lambda job: ResourceImporter(PlaceResource(scope_area=job.scope_area)),
        "users": lambda job: ResourceImporter(
            UserResource(scope_area=job.scope_area, importer=job.created_by)
        ),
    }


# --- the data-entry screen (entry.py) --------------------------------------------------------


@hooks.register("register_admin_menu_item")
def register_data_entry_menu_item():
    from .entry import entry_menu_item

    return entry_menu_item()
