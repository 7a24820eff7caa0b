from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TracingConfig(AppConfig):
    name = "tracing"
    verbose_name = _("Tracing")

    # tracing.handlers is not imported here yet: with the person registry as a third handler of
    # every accepted submission, two workers on the bench machine fell behind at 100/s (p95
    # commit-to-job-start 15 s with bench/pipeline). It is registered once it works on whole
    # batches of events with set-based queries (tracing issue).
