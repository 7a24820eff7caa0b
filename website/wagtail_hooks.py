from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem


class SuperuserMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.is_superuser


@hooks.register("register_settings_menu_item")
def register_jobs_menu_item():
    """Background jobs (RQ): queues, running and failed jobs, to retry or inspect them."""
    url = reverse("admin:django_rq_dashboard_changelist")
    return SuperuserMenuItem(_("Background jobs"), url, icon_name="cogs", order=900)
