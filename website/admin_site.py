"""Django's admin site, mounted at /django-admin/ for RQ's queues and failed jobs (django-rq).

Everything people do happens in Wagtail's admin; this site has no scope by area, so only
superusers (who see everything anyway) may enter it.
"""

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class SuperuserAdminSite(AdminSite):
    site_header = _("Outbreak Desk: background jobs")
    site_title = _("Background jobs")

    def has_permission(self, request):
        return request.user.is_active and request.user.is_superuser


class SuperuserAdminConfig(AdminConfig):
    """``django.contrib.admin`` with the site above as its default site."""

    default_site = "website.admin_site.SuperuserAdminSite"
