import os

from django.apps import AppConfig


class PipelineBenchConfig(AppConfig):
    """The probe of bench/pipeline (installed by bench/pipeline/settings.py only).

    It registers a handler of accepted submissions that records when its job started
    (bench/pipeline/handlers.py). With ``BENCH_NO_OUTBOX=1`` it also takes the workflows
    app's ``submission_companions`` hook out of Wagtail's registry, so that a server started
    with it stores submissions without their outbox event: the baseline of the outbox's cost.
    With ``BENCH_PROBE_ONLY=1`` it unregisters the built-in ``submitter_notify`` handler, so
    that each event causes one job (the probe's) instead of two.
    """

    name = "bench.pipeline"
    label = "bench_pipeline"

    def ready(self):
        from . import handlers  # noqa: F401 - registers the probe

        if os.environ.get("BENCH_NO_OUTBOX") == "1":
            without_outbox_event()
        if os.environ.get("BENCH_PROBE_ONLY") == "1":
            from workflows.events import SUBMISSION_ACCEPTED, unregister

            unregister(SUBMISSION_ACCEPTED, "workflows.handlers.submitter_notify")


def without_outbox_event() -> None:
    from wagtail import hooks

    from workflows import wagtail_hooks

    registered = hooks._hooks.get("submission_companions", [])
    kept = [(fn, order) for fn, order in registered if fn is not wagtail_hooks.submission_events]
    if len(kept) == len(registered):
        raise RuntimeError("workflows' submission_companions hook is not registered: nothing to take out")
    hooks._hooks["submission_companions"] = kept
