"""Outbox handlers of the reports app (imported at app ready): each batch of events adds its
counts to the daily counters in one upsert, then tells the live pages after commit.

Each handler is a batch handler on the ``reports`` queue; the outbox runs it once per event
(EventHandled markers, written in the same transaction as the counts), so an event relayed
twice is counted once. What counts, where and on which day is ``metrics.py``'s, shared with
``rebuild.py``.
"""

from tracing.changes import (
    ALERT_RAISED,
    ORDERS_STARTED,
    PERSONS_MERGED,
    QUARANTINE_CHANGED,
    TRACING_CLASSIFIED,
)
from tracing.handlers import accepted_of
from tracing.models import Alert, Classification, QuarantineOrder, f_level
from workflows.events import SUBMISSION_ACCEPTED, handles

from . import live, metrics
from .models import CountedOrderEnd, MapCase
from .services import counts_add, map_cases_add

F0 = f_level(0)


def ids_in(events, name: str) -> set[int]:
    return {int(pk) for event in events for pk in event.payload.get(name, [])}


def counted(counts: list[metrics.Count]) -> None:
    counts_add(counts)
    live.counts_changed_publish(counts)


@handles(SUBMISSION_ACCEPTED, queue="reports", batch=True)
def submissions_count(events):
    """Checkpoint passages, declarations, tests and doses of a batch of accepted submissions."""
    counted([count for item in accepted_of(events) for count in metrics.submission_counts(item)])


@handles(TRACING_CLASSIFIED, queue="reports", batch=True)
def classifications_count(events):
    """New F0, F1 and F2 counted and put on the map; each new F0 also goes to the live map."""
    rows = Classification.objects.filter(pk__in=ids_in(events, "classifications"))
    rows = metrics.counted_areas_fix([row for row in rows if metrics.classification_counted(row)])
    counted(metrics.classification_counts(rows))
    placed = map_cases_add(rows)
    live.cases_new_publish([case for case in placed if case.level == F0])


@handles(QUARANTINE_CHANGED, queue="reports", batch=True)
def orders_count(events):
    """Orders started add to the day they start; ends (and ends taken back) follow the order."""
    started = ids_in([e for e in events if e.payload.get("change") == ORDERS_STARTED], "orders")
    others = ids_in([e for e in events if e.payload.get("change") != ORDERS_STARTED], "orders")
    orders = metrics.counted_areas_fix(list(QuarantineOrder.objects.filter(pk__in=started | others)))
    counts = metrics.order_started_counts([o for o in orders if o.pk in started])
    counts += order_ends_sync([o for o in orders if o.pk in others])
    counted(counts)


def order_ends_sync(orders: list[QuarantineOrder]) -> list[metrics.Count]:
    """The counts that bring each order's counted end (CountedOrderEnd) to what the order says
    now: an end counted once, an end taken back taken out of the day it was counted on."""
    wanted = {}
    for order in orders:
        for count in metrics.order_ended_counts([order]):
            wanted[order.pk] = (count.area_id, count.date, count.key)
    counted_ends = CountedOrderEnd.objects.filter(order_id__in=[order.pk for order in orders])
    held = {row.order_id: (row.area_id, row.date, row.kind) for row in counted_ends}
    counts = []
    for order in orders:
        before, after = held.get(order.pk), wanted.get(order.pk)
        if before == after:
            continue
        if before:
            counts.append(metrics.Count(before[0], before[1], metrics.QUARANTINE_ENDED, before[2], -1))
            CountedOrderEnd.objects.filter(order_id=order.pk).delete()
        if after:
            counts.append(metrics.Count(after[0], after[1], metrics.QUARANTINE_ENDED, after[2], 1))
            CountedOrderEnd.objects.create(order_id=order.pk, area_id=after[0], date=after[1], kind=after[2])
    return counts


@handles(ALERT_RAISED, queue="reports", batch=True)
def alerts_count(events):
    alerts = metrics.counted_areas_fix(list(Alert.objects.filter(pk__in=ids_in(events, "alerts"))))
    counted(metrics.alert_counts(alerts))


@handles(PERSONS_MERGED, queue="reports", batch=True)
def map_cases_refresh(events):
    """A merge moved level changes between two persons: their map cases, made again from their
    rows (as a rebuild would). The counters need nothing: each row counts where it was counted."""
    person_ids = ids_in(events, "persons")
    MapCase.objects.filter(person_id__in=person_ids).delete()
    rows = Classification.objects.filter(person_id__in=person_ids, level__in=metrics.CASES_LEVELS)
    map_cases_add(metrics.counted_areas_fix([row for row in rows if metrics.classification_counted(row)]))
