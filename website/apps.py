from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebsiteConfig(AppConfig):
    name = "website"
    verbose_name = _("Website")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from wagtail.signals import page_published

        from . import handlers  # noqa: F401 - registers the outbox handlers
        from .guidance import guidance_published

        page_published.connect(guidance_published, dispatch_uid="website.guidance_published")
