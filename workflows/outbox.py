"""Record events with the change that causes them; relay them to RQ; sweep up what was missed.

- ``event_record`` (ORM) and ``event_new`` (an unsaved row, for the ingest lane's own INSERT)
  put an event in the caller's transaction.
- ``relay_pending`` hands the committed events nobody relayed yet to RQ, one job per queue
  and batch of events, and marks them relayed in the same transaction: if Redis is down
  nothing is marked and the next pass tries again. Several relays may run at once (SKIP
  LOCKED).
- ``sweep`` also re-relays events relayed long ago whose jobs vanished (Redis lost them, a
  relay crashed between enqueue and commit) and marks events done.

With Redis, ``manage.py run_scheduler`` relays, looking at the outbox every 20 ms. Without
Redis, queues run jobs in process, and each commit that records an event relays at once.
"""

import json
import logging
import time
import zlib
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import Job
from rq.registry import DeferredJobRegistry, FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from .events import handlers_for
from .models import Event, EventHandled
from .queues import get_queue, queues_are_synchronous

logger = logging.getLogger(__name__)

RELAY_BATCH = 500
# RQ's own retries, with backoff, before a job lands in the failed registry (django-rq's views).
JOB_RETRY = Retry(max=5, interval=[2, 10, 60, 300, 900])
JOB_BATCH = 200  # events per job at most
REDIS_WARNING_SECONDS = 10.0


def event_new(*, kind: str, key: str, payload: dict) -> Event:
    return Event(kind=kind, key=key, payload=payload)


def event_record(*, kind: str, key: str, payload: dict) -> Event:
    """Record an event in the current transaction; a second record of the same key is the first."""
    event, created = Event.objects.get_or_create(key=key, defaults={"kind": kind, "payload": payload})
    if created:
        transaction.on_commit(relay_after_commit)
    return event


def event_add(*, kind: str, key: str, payload: dict) -> None:
    """``event_record`` in one statement (INSERT … ON CONFLICT DO NOTHING, no savepoint), for
    hot paths that need no Event back: a second record of the same key is dropped. Inside
    ``events_batched`` the INSERT waits for the batch's end."""
    event = Event(kind=kind, key=key, payload=payload)
    batch = events_batch.get()
    if batch is not None:
        batch.append(event)
    else:
        events_insert([event])


def events_insert(events: list[Event]) -> None:
    """Write ``events`` in one statement, in their order; a key already recorded is skipped."""
    if not events:
        return
    if connection.vendor == "postgresql":
        events_insert_select(events)
    else:
        Event.objects.bulk_create(events, ignore_conflicts=True)
    transaction.on_commit(relay_after_commit)


# PostgreSQL: the ORM's bulk_create took four times as long to build this statement as the
# database to run it, on every job that records events (tracing's expansion records two).
EVENTS_INSERT_SQL = """
INSERT INTO {events} (kind, key, payload, created_at, relay_count, last_error)
SELECT kind, key, payload, %(now)s, 0, ''
FROM unnest(%(kinds)s::varchar[], %(keys)s::varchar[], %(payloads)s::jsonb[]) WITH ORDINALITY
    AS e (kind, key, payload, position)
ORDER BY position
ON CONFLICT DO NOTHING
"""


def events_insert_select(events: list[Event]) -> None:
    params = {
        "now": timezone.now(),
        "kinds": [event.kind for event in events],
        "keys": [event.key for event in events],
        "payloads": [json.dumps(event.payload) for event in events],
    }
    with connection.cursor() as cursor:
        cursor.execute(EVENTS_INSERT_SQL.format(events=Event._meta.db_table), params)


events_batch: ContextVar[list[Event] | None] = ContextVar("events_batch", default=None)


@contextmanager
def events_batched():
    """The ``event_add`` calls inside write their events in one INSERT as the block ends (in
    the order they were added), for a job that records several: one round trip, not one
    each. Use it inside the transaction of the changes: should the block fail, nothing is
    written, and the transaction's rollback undoes the changes too."""
    if events_batch.get() is not None:  # an outer batch writes them
        yield
        return
    batch: list[Event] = []
    token = events_batch.set(batch)
    try:
        yield
    finally:
        events_batch.reset(token)
    events_insert(batch)


def relay_after_commit() -> None:
    """In-process queues relay at once; otherwise the scheduler process relays (it is woken)."""
    if queues_are_synchronous():
        relay_pending()


def job_id(queue: str, handler_names: tuple[str, ...], event_ids: list[int]) -> str:
    # RQ ids allow letters, digits, "_" and "-"; the checksum tells apart the jobs of the same
    # events for different handlers of a queue (a re-relay may leave some out).
    names = zlib.crc32("|".join(handler_names).encode())
    return f"events-{queue}-{names:08x}-{event_ids[0]}-{len(event_ids)}"


def enqueue(events: list[Event], *, skip=frozenset()) -> int:
    """One job per queue and batch of events, every queue's jobs in one round trip each.

    A job runs each of its queue's handlers of those events in turn (workflows.jobs.
    handlers_run). Batching keeps a job's fixed cost (RQ, the connection) off each event and
    each handler: under load the relay finds many events at once and a worker handles them in
    one job; at a trickle each job has one event and starts at once. Pairs (event id,
    handler name) in ``skip`` are left out. Returns the number of jobs enqueued.
    """
    batches: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for event in events:
        by_queue: dict[str, list[str]] = {}
        for handler in handlers_for(event.kind):
            if (event.pk, handler.name) not in skip:
                by_queue.setdefault(handler.queue, []).append(handler.name)
        for queue, names in by_queue.items():
            batches.setdefault((queue, tuple(names)), []).append(event.pk)
    jobs_by_queue: dict[str, list] = {}
    for (queue, names), event_ids in batches.items():
        for start in range(0, len(event_ids), JOB_BATCH):
            chunk = event_ids[start : start + JOB_BATCH]
            jobs_by_queue.setdefault(queue, []).append(
                Queue.prepare_data(
                    "workflows.jobs.handlers_run",
                    args=(list(names), chunk),
                    job_id=job_id(queue, names, chunk),
                    retry=JOB_RETRY,
                    # Results live on EventHandled rows: RQ keeps none (less Redis work a job).
                    result_ttl=0,
                    description=f"{', '.join(names)}: {len(chunk)} events from {chunk[0]}",
                )
            )
    for name, jobs in jobs_by_queue.items():
        get_queue(name).enqueue_many(jobs)
    return sum(len(jobs) for jobs in jobs_by_queue.values())


_last_warning = 0.0  # monotonic time of the last "Redis is down" warning


def relay_pending(*, batch: int = RELAY_BATCH) -> int:
    """Relay every committed, unrelayed event; the number relayed. Never raises for Redis."""
    relayed = 0
    while True:
        try:
            with transaction.atomic():
                events = list(
                    Event.objects.select_for_update(skip_locked=True)
                    .filter(relayed_at=None)
                    .order_by("id")[:batch]
                )
                if not events:
                    return relayed
                enqueue(events)
                now = timezone.now()
                Event.objects.filter(pk__in=[e.pk for e in events]).update(
                    relayed_at=now, relay_count=F("relay_count") + 1, last_error=""
                )
                # Nobody handles these (no app follows the kind here): done as relayed.
                unhandled = [e.pk for e in events if not handlers_for(e.kind)]
                if unhandled:
                    Event.objects.filter(pk__in=unhandled).update(done_at=now)
        except RedisError as error:
            warn_redis_down(error)
            return relayed
        relayed += len(events)
        if len(events) < batch:
            return relayed


def warn_redis_down(error) -> None:
    """Once every REDIS_WARNING_SECONDS while Redis stays down (the scheduler tries 50 times a second)."""
    global _last_warning
    if time.monotonic() - _last_warning >= REDIS_WARNING_SECONDS:
        _last_warning = time.monotonic()
        logger.warning("outbox: Redis unreachable, events kept and relayed when it is back: %s", error)


def sweep() -> dict:
    """Relay what is pending, re-relay what is stuck, mark what is done; counts of each."""
    counts = {"relayed": relay_pending(), "re_relayed": 0, "done": events_mark_done()}
    try:
        counts["re_relayed"] = stuck_relay()
    except RedisError as error:
        logger.warning("outbox: sweep could not reach Redis: %s", error)
    return counts


def events_mark_done(event_ids: list[int] | None = None) -> int:
    """Mark done the events (of ``event_ids``, else all) whose every handler has handled them:
    one query per kind of event."""
    undone = Event.objects.filter(done_at=None)
    if event_ids is not None:
        undone = undone.filter(pk__in=event_ids)
    done = 0
    for kind in undone.values_list("kind", flat=True).distinct():
        needed = len(handlers_for(kind))
        finished = undone.filter(kind=kind).annotate(n=Count("handled")).filter(n__gte=needed).values("pk")
        done += Event.objects.filter(pk__in=finished).update(done_at=timezone.now())
    return done


def stuck_relay(*, older_than: timedelta | None = None) -> int:
    """Relay again the work of events relayed long ago and still not done, whose handler's
    queue is idle (nothing waiting or running there: their job is gone, e.g. Redis restarted
    empty). A job in RQ's failed registry stays there for people to see and retry
    (django-rq's views): its events are not relayed again behind their back.
    """
    if older_than is None:
        older_than = timedelta(seconds=settings.OUTBOX_STUCK_AFTER_SECONDS)
    if queues_are_synchronous():
        return 0
    stuck = list(
        Event.objects.filter(done_at=None, relayed_at__lt=timezone.now() - older_than)
        .filter(relay_count__lt=settings.OUTBOX_MAX_RELAYS)
        .order_by("id")[:RELAY_BATCH]
    )
    if not stuck:
        return 0
    skip = set(EventHandled.objects.filter(event__in=stuck).values_list("event_id", "handler").iterator())
    for handler in {h for event in stuck for h in handlers_for(event.kind)}:
        queue = get_queue(handler.queue)
        if queue_busy(queue):
            skip |= {(event.pk, handler.name) for event in stuck}  # a backlog, not a loss: wait
        else:
            skip |= failed_pairs(queue)
    count = enqueue(stuck, skip=skip)
    if count:
        lost = {e.pk for e in stuck for h in handlers_for(e.kind) if (e.pk, h.name) not in skip}
        Event.objects.filter(pk__in=lost).update(relayed_at=timezone.now(), relay_count=F("relay_count") + 1)
        logger.warning("outbox: relayed again %d events whose jobs were lost", len(lost))
    return count


def jobs_waiting() -> bool:
    """Whether any queue has jobs no worker has taken yet: one Redis round trip (LLEN each).

    Jobs only running do not count: an idle worker would start a new job at once."""
    queues = [get_queue(name) for name in settings.RQ_QUEUES]
    pipeline = queues[0].connection.pipeline(transaction=False)
    for queue in queues:
        pipeline.llen(queue.key)
    return any(pipeline.execute())


def queue_busy(queue: Queue) -> bool:
    """Jobs waiting, running or waiting to retry on ``queue``."""
    return bool(
        queue.count
        or StartedJobRegistry(queue=queue).count
        or ScheduledJobRegistry(queue=queue).count
        or DeferredJobRegistry(queue=queue).count
    )


def failed_pairs(queue: Queue, *, limit: int = 1000) -> set[tuple[int, str]]:
    """(event id, handler name) of the outbox jobs in ``queue``'s failed registry."""
    job_ids = FailedJobRegistry(queue=queue).get_job_ids(0, limit - 1)
    pairs = set()
    for job in Job.fetch_many(job_ids, connection=queue.connection):
        if job is None:
            continue
        if job.func_name == "workflows.jobs.handlers_run":
            handler_names, event_ids = job.args
            pairs |= {(pk, name) for pk in event_ids for name in handler_names}
        elif job.func_name == "workflows.jobs.events_handle":  # jobs relayed before queue jobs
            handler_name, event_ids = job.args
            pairs |= {(pk, handler_name) for pk in event_ids}
        elif job.func_name == "workflows.jobs.event_handle":  # jobs relayed before batches
            event_id, handler_name = job.args
            pairs.add((event_id, handler_name))
    return pairs
