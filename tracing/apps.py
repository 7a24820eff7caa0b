from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TracingConfig(AppConfig):
    name = "tracing"
    verbose_name = _("Tracing")

    def ready(self):
        from . import (
            handlers,  # noqa: F401 - registers the outbox handlers
            retention,  # noqa: F401 - registers the scheduler's retention pass
        )
