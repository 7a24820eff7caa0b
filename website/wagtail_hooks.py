from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from tracing.quarantine import missed_checkins_due
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


@hooks.register("construct_homepage_panels")
def missed_checkins_in_process(request, panels):
    """Without Redis there is no scheduler process: the dashboard, which staff open every day,
    records the day's missed check-in run once it is past the hour (the job runs at once)."""
    if queues_are_synchronous():
        missed_checkins_due()


@hooks.register("construct_homepage_panels")
def add_role_panels(request, panels):
    """Each role's home: the approver's inbox counts, the IT team's data entry, the leader's
    live pages (website/panels.py)."""
    panels.extend(role_panels(request.user))
