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


def events_handle(handler_name: str, event_ids: list[int]):
    """Run one handler on each event of a batch that no committed run has handled yet.

    Each event has its own transaction: the handler's writes and its EventHandled marker
    commit together, so a crash or an exception undoes both and a retry does the work
    again; an event relayed twice finds its marker and is skipped. Two runs at once: the
    second's marker waits on the unique index until the first commits, then skips.
    """
    events = list(Event.objects.filter(pk__in=event_ids).order_by("pk"))
    failed, results = [], {}
    for event in events:
        handler = handler_named(event.kind, handler_name)
        if handler is None:
            raise LookupError(f"no handler {handler_name} for {event.kind} events")  # fails visibly
        try:
            with transaction.atomic():
                marker = marker_claim(event, handler_name)
                if marker is None:
                    continue  # handled before
                results[event.pk] = result = handler.func(event)
                if result is not None:
                    EventHandled.objects.filter(pk=marker).update(result=result)
        except Exception:
            logger.exception("event %s: %s failed", event.key, handler_name)
            failed.append(event.pk)
    events_mark_done([e.pk for e in events])
    if failed:
        raise EventsFailed(f"{handler_name} failed on events {failed}")
    return {"handled": len(results)}


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


@functools.cache
def marker_sql() -> str:
    """Identifiers from the model, quoted; values are parameters."""
    meta, quote = EventHandled._meta, connection.ops.quote_name
    event, handler, handled_at = (
        quote(meta.get_field(name).column) for name in ("event", "handler", "handled_at")
    )
    return (
        f"INSERT INTO {quote(meta.db_table)} ({event}, {handler}, {handled_at}) VALUES (%s, %s, %s) "  # noqa: S608
        f"ON CONFLICT ({event}, {handler}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
