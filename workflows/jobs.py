"""The RQ job every outbox event runs through: one handler, once, whatever the relays did."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from .events import handler_named, handlers_for
from .models import Event, EventHandled

logger = logging.getLogger(__name__)


def event_handle(event_id: int, handler_name: str):
    """Run one handler on one event, unless a run of it has already committed.

    The marker row and the handler's own writes commit together: a crash or an exception
    undoes both, and RQ runs the job again; a second relay of a handled event finds the
    marker and does nothing. Two runs at once: the second waits on the marker's unique
    index until the first commits, then does nothing.
    """
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        logger.warning("event %s no longer exists; nothing to do", event_id)
        return None
    handler = handler_named(event.kind, handler_name)
    if handler is None:
        raise LookupError(f"no handler {handler_name} for {event.kind} events")  # fails visibly
    with transaction.atomic():
        try:
            with transaction.atomic():
                marker = EventHandled.objects.create(event=event, handler=handler_name)
        except IntegrityError:
            return {"skipped": "already handled"}
        result = handler.func(event)
        if result is not None:
            marker.result = result
            marker.save(update_fields=["result"])
        if event.handled.count() >= len(handlers_for(event.kind)):
            Event.objects.filter(pk=event.pk, done_at=None).update(done_at=timezone.now())
    return result
