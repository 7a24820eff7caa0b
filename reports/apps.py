from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self):
        # The outbox handlers of the counters, and the situation report's handler and schedule.
        from . import handlers, situation_jobs  # noqa: F401
