"""The outbox events tracing records with its changes, for the apps that follow them (reports'
daily counters, the live map): each in the transaction of the change, so a change is never
counted twice nor missed.

- ``tracing.classified``: {"classifications": [Classification ids]}: level changes, each row
  telling person, from, to, when and why;
- ``quarantine.changed``: {"change": "started" | "ended" | "reopened", "orders": [QuarantineOrder
  ids]}: orders made; orders that left "active" (completed, broken, transferred; ended_at
  set); orders a merge had closed and its undo made active again (their end taken back);
- ``alert.raised``: {"alerts": [Alert ids]}.

A key names the rows of one change (ids are never reused), so recording the same change twice
records one event; an order's end or reopening, which can happen again, has a key of its own.
"""

import uuid

from workflows import outbox

TRACING_CLASSIFIED = "tracing.classified"
QUARANTINE_CHANGED = "quarantine.changed"
ALERT_RAISED = "alert.raised"
PERSONS_MERGED = "persons.merged"  # a merge or its undo: rows moved between the two persons

ORDERS_STARTED = "started"
ORDERS_ENDED = "ended"
ORDERS_REOPENED = "reopened"


def ids_key(kind: str, ids: list[int], *parts: str) -> str:
    return ":".join([kind, *parts, str(min(ids)), str(len(ids)), str(max(ids))])


def classified(history_ids: list[int]) -> None:
    if history_ids:
        ids = sorted(history_ids)
        outbox.event_add(
            kind=TRACING_CLASSIFIED, key=ids_key(TRACING_CLASSIFIED, ids), payload={"classifications": ids}
        )


def orders_changed(order_ids: list[int], change: str) -> None:
    if order_ids:
        ids = sorted(order_ids)
        # An order starts once, but may end, be reopened (a merge undone) and end again: those
        # changes get a key of their own each time.
        once = () if change == ORDERS_STARTED else (uuid.uuid4().hex,)
        outbox.event_add(
            kind=QUARANTINE_CHANGED,
            key=ids_key(QUARANTINE_CHANGED, ids, change, *once),
            payload={"change": change, "orders": ids},
        )


def alerts_raised(alert_ids: list[int]) -> None:
    if alert_ids:
        ids = sorted(alert_ids)
        outbox.event_add(kind=ALERT_RAISED, key=ids_key(ALERT_RAISED, ids), payload={"alerts": ids})


def persons_merged(merge_id: int, person_ids: list[int]) -> None:
    """A merge (or its undo, a merge record of its own) moved rows between these persons."""
    outbox.event_add(
        kind=PERSONS_MERGED, key=f"{PERSONS_MERGED}:{merge_id}", payload={"persons": sorted(person_ids)}
    )
