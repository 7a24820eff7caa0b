"""Event kinds and the handlers that do their work.

An app says what work an event causes with ``@handles("submission.accepted", queue="tracing")``
in a module its AppConfig imports (``<app>/handlers.py``). A handler takes the Event and runs
inside the transaction that marks it done, so whatever it writes to the database is done
exactly once however often the event is relayed; work outside the database (a live notice,
a file) belongs in ``transaction.on_commit``. It may return a small JSON-able result, kept
on the EventHandled row.

``@handles(kind, queue=..., batch=True)`` gives the handler a job's whole batch of events
(a list, each not yet handled) in one transaction, for set-based work: one query for a
hundred submissions instead of a hundred. It returns None or {event id: result}. If it
raises, the batch is undone and each event is run again alone, so one bad event cannot hold
back the others.
"""

from collections.abc import Callable
from dataclasses import dataclass

SUBMISSION_ACCEPTED = "submission.accepted"
SUBMISSION_REJECTED = "submission.rejected"


@dataclass(frozen=True)
class Handler:
    kind: str
    name: str  # the function's dotted path: the job names the handler by it
    queue: str
    func: Callable
    batch: bool = False


_handlers: dict[str, list[Handler]] = {}


def handles(kind: str, *, queue: str = "default", batch: bool = False):
    """Register the decorated function as a handler of ``kind`` events, run on ``queue``."""

    def register(func):
        name = f"{func.__module__}.{func.__qualname__}"
        handler = Handler(kind=kind, name=name, queue=queue, func=func, batch=batch)
        registered = _handlers.setdefault(kind, [])
        if all(existing.name != handler.name for existing in registered):
            registered.append(handler)
        return func

    return register


def handlers_for(kind: str) -> list[Handler]:
    return list(_handlers.get(kind, []))


def handler_named(kind: str, name: str) -> Handler | None:
    return next((h for h in _handlers.get(kind, []) if h.name == name), None)


def submission_of(event):
    """The submission a submission event is about (events name it by form and client_id)."""
    from forms_engine.models import Submission

    return Submission.objects.filter(
        form_id=event.payload["form"], client_id=event.payload["client_id"]
    ).first()


_periodic: list[tuple[Callable, str]] = []


def every(seconds_setting: str):
    """Register the decorated function to be called by ``manage.py run_scheduler`` every
    ``settings.<seconds_setting>`` seconds (apps schedule work without the scheduler
    importing them). It must be cheap when there is nothing to do and safe to call twice."""

    def register(func):
        if all(existing is not func for existing, _setting in _periodic):
            _periodic.append((func, seconds_setting))
        return func

    return register


def periodic_steps() -> list[tuple[Callable, str]]:
    return list(_periodic)


def unregister(kind: str, name: str) -> None:
    """For tests that register a handler of their own."""
    _handlers[kind] = [h for h in _handlers.get(kind, []) if h.name != name]
