"""The RQ jobs outbox events run through: one handler over a batch of events, each event once,
whatever the relays did."""

import functools
import logging

from django.db import connection, transaction
from django.utils import timezone

from .events import handler_named
from .models import Event, EventHandled
from .outbox import events_mark_done

logger = logging.getLogger(__name__)


class EventsFailed(Exception):
    """Some events of a batch failed: RQ retries the job, and the events done are skipped."""


def events_handle(handler_name: str, event_ids: list[int], *, mark_done: bool = True):
    """Run one handler on each event of a batch that no committed run has handled yet.

    Each event has its own transaction: the handler's writes and its EventHandled marker
    commit together, so a crash or an exception undoes both and a retry does the work
    again; an event relayed twice finds its marker and is skipped. Two runs at once: the
    second's marker waits on the unique index until the first commits, then skips.
    A batch handler (events.handles(batch=True)) takes the whole batch in one transaction,
    and each event alone only if the batch fails.
    """
    events = list(Event.objects.filter(pk__in=event_ids).order_by("pk"))
    handlers = {}
    for event in events:
        handlers[event.pk] = handler_named(event.kind, handler_name)
        if handlers[event.pk] is None:
            raise LookupError(f"no handler {handler_name} for {event.kind} events")  # fails visibly
    together = [event for event in events if handlers[event.pk].batch]
    alone = [event for event in events if not handlers[event.pk].batch]
    handled = 0
    if together:
        try:
            handled += batch_run(together, handler_name, handlers[together[0].pk].func)
        except Exception:
            logger.warning("%s failed on a batch of %d: each event alone now", handler_name, len(together))
            alone = together + alone
    failed = []
    for event in alone:
        handler = handlers[event.pk]
        try:
            with transaction.atomic():
                marker = marker_claim(event, handler_name)
                if marker is None:
                    continue  # handled before
                result = handler.func([event]).get(event.pk) if handler.batch else handler.func(event)
                handled += 1
                if result is not None:
                    EventHandled.objects.filter(pk=marker).update(result=result)
        except Exception:
            logger.exception("event %s: %s failed", event.key, handler_name)
            failed.append(event.pk)
    if mark_done:
        events_mark_done([e.pk for e in events])
    if failed:
        raise EventsFailed(f"{handler_name} failed on events {failed}")
    return {"handled": handled}


def batch_run(events: list[Event], handler_name: str, func) -> int:
    """The events not handled yet, through ``func`` in one transaction; how many."""
    with transaction.atomic():
        markers = markers_claim(events, handler_name)
        todo = [event for event in events if event.pk in markers]
        if not todo:
            return 0
        results = func(todo) or {}
        for event_id, result in results.items():
            if result is not None and event_id in markers:
                EventHandled.objects.filter(pk=markers[event_id]).update(result=result)
    return len(todo)


def markers_claim(events: list[Event], handler_name: str) -> dict[int, int]:
    """Markers for all ``events`` in one statement: {event id: marker id} of those claimed now."""
    now = timezone.now()
    rows = ", ".join(["(%s, %s, %s)"] * len(events))
    params = [value for event in events for value in (event.pk, handler_name, now)]
    with connection.cursor() as cursor:
        cursor.execute(markers_sql(rows), params)
        return {event_id: marker for marker, event_id in cursor.fetchall()}


def handlers_run(handler_names: list[str], event_ids: list[int]):
    """Each handler of a queue on a batch of events, in turn (one job, not one a handler: a
    job's fixed cost is paid once). A handler that fails does not stop the others; the job
    then fails, and its retry skips what is handled."""
    results, failures = {}, []
    for name in handler_names:
        try:
            results[name] = events_handle(name, event_ids, mark_done=False)
        except Exception as error:  # each handler logged its own events' failures
            failures.append(f"{name}: {error}")
    events_mark_done(event_ids)  # once a job, not once a handler
    if failures:
        raise EventsFailed("; ".join(failures))
    return results


def event_handle(event_id: int, handler_name: str):
    """One event (jobs relayed before batches existed)."""
    return events_handle(handler_name, [event_id])


def marker_claim(event: Event, handler_name: str) -> int | None:
    """Insert the (event, handler) marker in the current transaction; None if one exists.

    One statement, no savepoint (the ORM would need one to survive the unique violation).
    """
    with connection.cursor() as cursor:
        cursor.execute(marker_sql(), [event.pk, handler_name, timezone.now()])
        row = cursor.fetchone()
    return row[0] if row else None


def marker_sql() -> str:
    return markers_sql("(%s, %s, %s)")


@functools.cache
def markers_sql(rows: str) -> str:
    """Identifiers from the model, quoted; ``rows`` holds only placeholders."""
    meta, quote = EventHandled._meta, connection.ops.quote_name
    event, handler, handled_at = (
        quote(meta.get_field(name).column) for name in ("event", "handler", "handled_at")
    )
    return (
        f"INSERT INTO {quote(meta.db_table)} ({event}, {handler}, {handled_at}) VALUES {rows} "  # noqa: S608
        f"ON CONFLICT ({event}, {handler}) DO NOTHING RETURNING {quote(meta.pk.column)}, {event}"
    )
