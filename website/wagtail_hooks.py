from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from tracing.quarantine import missed_checkins_due
from tracing.retention import retention_run
from workflows.queues import queues_are_synchronous

from .panels import role_panels


class JobsMenuItem(MenuItem):
    """For superusers, when jobs run on Redis (without it they run at once, in the web process)."""

    def is_shown(self, request):
        return request.user.is_superuser and not queues_are_synchronous()


@hooks.register("register_settings_menu_item")
def register_jobs_menu_item():
    """Background jobs (RQ): queues, running and failed jobs, to retry or inspect them."""
    url = reverse("admin:django_rq_dashboard_changelist")
    return JobsMenuItem(_("Background jobs"), url, icon_name="cogs", order=900)


@hooks.register("insert_global_admin_js")
def csp_initialisers():
    """What Wagtail's inline scripts did, from a static file (website/templates/wagtailadmin/)."""
    return format_html('<script src="{}"></script>', static("website/admin/csp-init.js"))


@hooks.register("register_admin_urls")
def register_two_factor_urls():
    """Enrolling and verifying the second factor (website/two_factor.py), under /admin/."""
    from .two_factor import urlpatterns

    return urlpatterns


@hooks.register("construct_homepage_panels")
def missed_checkins_in_process(request, panels):
    """Without Redis there is no scheduler process: the dashboard, which staff open every day,
    records the day's missed check-in run once it is past the hour (the job runs at once), and
    anonymises a batch of the health declarations past retention (tracing/retention.py)."""
    if queues_are_synchronous():
        missed_checkins_due()
        retention_run(max_batches=1)


@hooks.register("construct_homepage_panels")
def add_role_panels(request, panels):
    """Each role's home: the approver's inbox counts, the IT team's data entry, the leader's
    live pages (website/panels.py)."""
    panels.extend(role_panels(request.user))


@hooks.register("construct_homepage_panels")
def review_panel_in_scope(request, panels):
    """Wagtail's "Awaiting your review", limited to the user's area (website/scope.py)."""
    from wagtail.admin.views.home import WorkflowObjectsToModeratePanel

    from .scope import ScopedObjectsToModeratePanel

    panels[:] = [
        ScopedObjectsToModeratePanel() if type(panel) is WorkflowObjectsToModeratePanel else panel
        for panel in panels
    ]
