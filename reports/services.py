"""Writes of the daily counters: a batch of counts added to their areas and every ancestor in
one upsert, sorted, so that two workers bumping the same rows never deadlock."""

from collections import Counter
from collections.abc import Iterable
from datetime import date

from django.db import connection
from django.utils import timezone

from places.models import Area
from places.selectors import ancestor_paths
from tracing.models import Classification

from .metrics import CASES_LEVELS, Count
from .models import DailyCount, MapCase

TOTAL = ""  # the key of a metric's total over its keys
ROWS_PER_STATEMENT = 150  # 5 parameters a row: well under SQLite's limit


def areas_with_ancestors(area_ids: Iterable[int]) -> dict[int, list[int]]:
    """{area id: [its id and each ancestor's id]} in two queries, however many areas."""
    paths = dict(Area.objects.filter(pk__in=set(area_ids)).values_list("pk", "path"))
    wanted = {p for path in paths.values() for p in ancestor_paths(path, include_self=True)}
    ids_by_path = dict(Area.objects.filter(path__in=wanted).values_list("path", "pk"))
    return {
        pk: [ids_by_path[p] for p in ancestor_paths(path, include_self=True) if p in ids_by_path]
        for pk, path in paths.items()
    }


def rolled_up(counts: Iterable[Count]) -> Counter:
    """{(area id, date, metric, key): total} over each count's area and all its ancestors, and
    under the key "" (the metric's total over its keys) as well as its own."""
    counts = list(counts)
    chains = areas_with_ancestors(count.area_id for count in counts)
    totals = Counter()
    for count in counts:
        keys = (count.key, TOTAL) if count.key != TOTAL else (TOTAL,)
        for area_id in chains.get(count.area_id, ()):
            for key in keys:
                totals[(area_id, count.date, count.metric, key)] += count.value
    return totals


def counts_add(counts: Iterable[Count]) -> Counter:
    """Add ``counts`` (negative values take away) to the counters of their areas and every
    ancestor area, in the caller's transaction. Returns what was added, rolled up."""
    totals = rolled_up(counts)
    rows = sorted((key, value) for key, value in totals.items() if value)
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        upsert(rows[start : start + ROWS_PER_STATEMENT])
    return totals


def upsert(rows: list[tuple[tuple[int, date, str, str], int]]) -> None:
    """INSERT … ON CONFLICT DO UPDATE (PostgreSQL and SQLite alike): one statement a chunk."""
    adapt = connection.ops.adapt_datefield_value
    params = [v for (area, day, metric, key), value in rows for v in (area, adapt(day), metric, key, value)]
    with connection.cursor() as cursor:
        cursor.execute(upsert_sql(len(rows)), params)


def upsert_sql(count: int) -> str:
    meta, quote = DailyCount._meta, connection.ops.quote_name
    table = quote(meta.db_table)
    area, day, metric, key, value = (
        quote(meta.get_field(name).column) for name in ("area", "date", "metric", "key", "value")
    )
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * count)
    return (
        f"INSERT INTO {table} ({area}, {day}, {metric}, {key}, {value}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({area}, {metric}, {key}, {day}) "
        f"DO UPDATE SET {value} = {table}.{value} + excluded.{value}"
    )


def map_cases_add(rows: list[Classification]) -> list[MapCase]:
    """The persons of ``rows`` who reached F0, F1 or F2, on the map from the day they first did,
    in the row's counted area: the earliest such row wins, whatever order the rows come in (a
    job retried after a later one, a rebuild between them). Returns the new map cases (for
    the live map)."""
    earliest = {}
    for row in sorted(rows, key=lambda row: (row.created_at, row.pk)):
        if row.level in CASES_LEVELS and row.level != row.level_from and row.area_id:
            earliest.setdefault(
                (row.person_id, row.level),
                MapCase(
                    person_id=row.person_id,
                    level=row.level,
                    date=timezone.localdate(row.created_at),
                    area_id=row.area_id,
                ),
            )
    known = {
        (case.person_id, case.level): case
        for case in MapCase.objects.filter(person_id__in={person for person, _level in earliest})
    }
    fresh = [case for key, case in earliest.items() if key not in known]
    earlier = []
    for key, case in earliest.items():
        if key in known and case.date < known[key].date:
            known[key].date, known[key].area_id = case.date, case.area_id
            earlier.append(known[key])
    MapCase.objects.bulk_create(fresh, ignore_conflicts=True)
    MapCase.objects.bulk_update(earlier, ["date", "area"])
    return fresh
