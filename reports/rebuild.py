"""Recompute every daily counter from the source tables: ``manage.py rebuild_aggregates``, or
the RQ job ``rebuild_job`` (``rebuild_enqueue``).

It counts with the very functions the handlers use (metrics.py), so on the same rows it
gives the same numbers, and replaces the counters in one transaction that reads one snapshot
of the database. The events the handlers have not counted yet are in that snapshot's rows
already: the rebuild claims their markers in the same transaction, so they are not counted a
second time. On PostgreSQL the snapshot is REPEATABLE READ, and a handler committing in
the middle makes the rebuild fail with a serialization error and start again (at most
``ATTEMPTS`` times). On SQLite the first statement is a write, which holds the database's
one write lock to the end.
"""

import logging
from collections import Counter

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from forms_engine.models import FormPage, FormVersion, Submission
from places.models import Area
from tracing.changes import ALERT_RAISED, PERSONS_MERGED, QUARANTINE_CHANGED, TRACING_CLASSIFIED
from tracing.handlers import Accepted
from tracing.models import Alert, Classification, QuarantineOrder
from workflows.events import SUBMISSION_ACCEPTED, handlers_for
from workflows.models import Event, EventHandled
from workflows.queues import get_queue

from . import live, metrics
from .models import CountedOrderEnd, DailyCount, MapCase
from .services import map_cases_add, rolled_up

logger = logging.getLogger(__name__)

ATTEMPTS = 5
CHUNK = 5000
KINDS = (SUBMISSION_ACCEPTED, TRACING_CLASSIFIED, QUARANTINE_CHANGED, ALERT_RAISED, PERSONS_MERGED)


def rebuild() -> dict:
    """Replace the counters with what the source tables say; {"rows": n, "seconds": s}."""
    started = timezone.now()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            rows = rebuild_once()
            break
        except OperationalError as error:
            if attempt == ATTEMPTS or not is_serialization_failure(error):
                raise
            logger.info("rebuild_aggregates: a handler committed meanwhile; again (%d)", attempt)
    roots = list(Area.get_root_nodes().values_list("code", flat=True))
    refetch = {  # every page refetches its snapshot
        "type": live.COUNTS_CHANGED,
        "date": timezone.localdate().isoformat(),
        "metrics": list(metrics.METRICS),
    }
    live.publish_now([(code, refetch) for code in roots])
    return {"rows": rows, "seconds": round((timezone.now() - started).total_seconds(), 3)}


def is_serialization_failure(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == "40001"


def rebuild_once() -> int:
    outermost = not connection.in_atomic_block  # else the caller's transaction decides
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        pending_claim()
        ends = order_ends()
        totals = rolled_up(all_counts(ends))
        map_cases_rebuild()
        DailyCount.objects.all().delete()
        DailyCount.objects.bulk_create(
            (
                DailyCount(area_id=a, date=d, metric=m, key=k, value=v)
                for (a, d, m, k), v in totals.items()
                if v
            ),
            batch_size=CHUNK,
        )
        CountedOrderEnd.objects.all().delete()
        CountedOrderEnd.objects.bulk_create(ends, batch_size=CHUNK)
    return len(totals)


def pending_claim() -> None:
    """Markers of the reports handlers for every event not done yet: what those events would
    count is counted here from their rows (one INSERT … SELECT a handler)."""
    meta, event_meta, quote = EventHandled._meta, Event._meta, connection.ops.quote_name
    event, handler, handled_at = (quote(meta.get_field(n).column) for n in ("event", "handler", "handled_at"))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({event}, {handler}, {handled_at}) "  # noqa: S608
        f"SELECT {quote(event_meta.pk.column)}, %s, %s FROM {quote(event_meta.db_table)} "
        f"WHERE {quote(event_meta.get_field('kind').column)} = %s "
        f"AND {quote(event_meta.get_field('done_at').column)} IS NULL "
        f"ON CONFLICT ({event}, {handler}) DO NOTHING"
    )
    now = timezone.now()
    with connection.cursor() as cursor:
        for kind in KINDS:
            for handler in handlers_for(kind):
                if handler.name.startswith("reports."):
                    cursor.execute(sql, [handler.name, now, kind])


def all_counts(ends: list[CountedOrderEnd]):
    """Every source row's counts, as the handlers would have added them one event at a time."""
    yield from submissions_counts()
    yield from classifications_counts()
    yield from metrics.order_started_counts(metrics.counted_areas_fix(list(QuarantineOrder.objects.all())))
    for end in ends:
        yield metrics.Count(end.area_id, end.date, metrics.QUARANTINE_ENDED, end.kind)
    yield from metrics.alert_counts(metrics.counted_areas_fix(list(Alert.objects.all())))


def submissions_counts():
    """Accepted submissions of the kinds that count, read in chunks; versions decoded once."""
    kinds = dict(FormPage.objects.filter(kind__in=metrics.SUBMISSION_COUNTERS).values_list("pk", "kind"))
    versions = {}
    submissions = Submission.objects.filter(form_id__in=kinds, status=Submission.STATUS_ACCEPTED).only(
        "pk", "form_id", "version_id", "data", "area_id", "client_created_at", "created_at"
    )
    for submission in submissions.order_by().iterator(chunk_size=CHUNK):
        if submission.version_id not in versions:
            versions[submission.version_id] = FormVersion.objects.get(pk=submission.version_id)
        submission.version = versions[submission.version_id]
        item = Accepted(event_key="", submission=submission, kind=kinds[submission.form_id])
        yield from metrics.submission_counts(item)


def classified_rows() -> list[Classification]:
    rows = Classification.objects.filter(level__in=metrics.CASES_LEVELS).only(
        "person_id", "level", "level_from", "created_at", "area_id"
    )
    return metrics.counted_areas_fix([row for row in rows if metrics.classification_counted(row)])


def classifications_counts():
    yield from metrics.classification_counts(classified_rows())


def map_cases_rebuild() -> None:
    MapCase.objects.all().delete()
    map_cases_add(classified_rows())


def order_ends() -> list[CountedOrderEnd]:
    ended = list(
        QuarantineOrder.objects.exclude(status=QuarantineOrder.STATUS_ACTIVE).filter(ended_at__isnull=False)
    )
    metrics.counted_areas_fix(ended)
    return [
        CountedOrderEnd(order_id=order.pk, area_id=count.area_id, date=count.date, kind=count.key)
        for order in ended
        for count in metrics.order_ended_counts([order])
    ]


def rebuild_job() -> dict:
    """The RQ job (queue "reports")."""
    return rebuild()


def rebuild_enqueue():
    return get_queue("reports").enqueue(rebuild_job, job_timeout=3600, result_ttl=0)


def totals_by_key() -> Counter:
    """{(area id, date, metric, key): value} of the stored counters (tests compare these)."""
    return Counter(
        {
            (area, day, metric, key): value
            for area, day, metric, key, value in DailyCount.objects.exclude(value=0).values_list(
                "area_id", "date", "metric", "key", "value"
            )
        }
    )
