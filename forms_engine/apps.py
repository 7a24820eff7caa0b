from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FormsEngineConfig(AppConfig):
    name = "forms_engine"
    verbose_name = _("Forms")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals  # noqa: F401
