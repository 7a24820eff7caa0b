"""Reads of the daily counters for the dashboard and the maps: a few indexed queries over the
counters of one area (and its children), never over submissions.

Every number of an area is its own row: the handlers added each event to its area and every
ancestor, under its key and under "" (the metric's total), so reads sum rows, not areas.
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from places.models import Area, Place
from places.selectors import area_points, areas_visible_to, scope_roots
from tracing.models import QuarantineOrder, QuarantineRule

from . import metrics
from .models import AreaBoundary, DailyCount, MapCase
from .services import TOTAL

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DEFAULT_DAYS = 30
MAX_DAYS = 366
BAD_DATE = _("Write dates as YYYY-MM-DD.")
FROM_AFTER_TO = _("The start date is after the end date.")
# Lazy with its number: ``gettext_lazy(...) % ...`` would fix the language at import.
RANGE_TOO_LONG = lazy(
    lambda: gettext("A date range may span at most %(days)s days.") % {"days": MAX_DAYS}, str
)()
NO_SUCH_AREA = _("No such area.")

HEADLINE = {  # headline card → metric
    "cases_f0": metrics.CASES[0],
    "f1": metrics.CASES[1],
    "f2": metrics.CASES[2],
    "tests": metrics.TESTS,
    "positive": metrics.TESTS_POSITIVE,
    "doses": metrics.DOSES,
}
QUARANTINE = (metrics.QUARANTINE_STARTED, metrics.QUARANTINE_ENDED)
FACILITY, HOME = QuarantineRule.KIND_FACILITY, QuarantineRule.KIND_HOME
COMMUNE_DEPTH = 3  # province > district > commune


class BadRange(ValueError):
    """A date range a person must fix; the message is translated."""


@dataclass(frozen=True)
class Range:
    start: date
    end: date

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def range_parse(start: str | None, end: str | None, *, days: int = DEFAULT_DAYS) -> Range:
    """The range asked for; by default the last ``days`` days to today (the province's date).
    The API and the live pages alike: one rule, one set of messages."""
    end_date = date_parse(end) if end else timezone.localdate()
    start_date = date_parse(start) if start else end_date - timedelta(days=max(days, 1) - 1)
    if start_date > end_date:
        raise BadRange(FROM_AFTER_TO)
    if (end_date - start_date).days + 1 > MAX_DAYS:
        raise BadRange(RANGE_TOO_LONG)
    return Range(start_date, end_date)


def date_parse(text: str) -> date:
    text = text.strip()
    if not ISO_DATE.fullmatch(text):
        raise BadRange(BAD_DATE)
    try:
        return date.fromisoformat(text)
    except ValueError:  # 2021-02-30
        raise BadRange(BAD_DATE) from None


def scope_root(*, user) -> Area | None:
    """The area a user's pages open on: their own, or the (first) top of the tree for all."""
    return next(iter(scope_roots(user=user)), None)


def area_for(*, user, code: str | None) -> Area | None:
    """The area asked for if the user may see it (None: 404), else the user's scope root."""
    if not code:
        return scope_root(user=user)
    return areas_visible_to(user=user).filter(code=code.strip()[:32]).first()


def public_area(code: str | None) -> Area | None:
    if not code:
        return Area.get_root_nodes().first()
    return Area.objects.filter(code=code.strip()[:32]).first()


def children_of(area: Area) -> list[Area]:
    """The areas one level below, in the tree's order (the fields the dashboard shows)."""
    below = Area.objects.filter(path__startswith=area.path, depth=area.depth + 1)
    return list(below.only("id", "path", "depth", "code", "name", "population").order_by("path"))


# --- the dashboard -------------------------------------------------------------------------


def dashboard(area: Area, days: Range) -> dict:
    """Everything the dashboard shows for ``area`` over ``days``: three indexed queries (the
    children, the counters, the facilities)."""
    children = children_of(area)
    counters = counters_read(area, children, days)
    return {
        "area": {
            "code": area.code,
            "name": area.name,
            "level_label": area.level_label,
            "children": [{"code": child.code, "name": child.name} for child in children],
        },
        "from": days.start.isoformat(),
        "to": days.end.isoformat(),
        "headline": headline(area, children, days, counters.daily, counters.cumulative),
        "series": series(days, counters.daily, counters.cumulative),
        "by_child": child_rows(children, counters.by_child),
        "occupancy": facilities_occupancy(area),
        "checkpoints": checkpoint_flows(counters.checkpoints),
    }


@dataclass
class Counters:
    daily: dict  # {(metric, key, date): value} in the range: totals, and quarantine by kind
    cumulative: dict  # {(metric, key): value} from the first day to the range's end
    by_child: dict  # {(child area id, metric): value} over the range
    checkpoints: dict  # {"<place id>|<in or out>": value} on the range's last day


# The reads of the counters go in one statement (one round trip, one plan). Each names every
# metric, and the key when it can: the counters' one index is (area, metric, key, date) and
# carries the value, so PostgreSQL walks it straight to the dates asked for, without touching
# the table (migration reports 0004), instead of reading every date of every metric and key.
COUNTERS_SQL = """
SELECT 'd', metric, key, date, value FROM {table}
 WHERE area_id = %s AND metric IN ({metrics}) AND key = '' AND date >= %s AND date <= %s
UNION ALL
SELECT 'd', metric, key, date, value FROM {table}
 WHERE area_id = %s AND metric IN ({quarantine}) AND key <> '' AND date >= %s AND date <= %s
UNION ALL
SELECT 'c', metric, key, NULL, CAST(SUM(value) AS BIGINT) FROM {table}
 WHERE area_id = %s AND metric IN ({cumulative}) AND date <= %s
 GROUP BY metric, key
UNION ALL
SELECT 'b', metric, CAST(area_id AS VARCHAR(20)), NULL, CAST(SUM(value) AS BIGINT) FROM {table}
 WHERE area_id IN ({children}) AND metric IN ({metrics}) AND key = '' AND date >= %s AND date <= %s
 GROUP BY area_id, metric
UNION ALL
SELECT 'p', metric, key, date, value FROM {table}
 WHERE area_id = %s AND metric = %s AND key <> '' AND date = %s
"""


def counters_read(area: Area, children: list[Area], days: Range) -> Counters:
    cumulative_metrics = [*HEADLINE.values(), *QUARANTINE]
    child_ids = [child.pk for child in children] or [0]
    start, end = (connection.ops.adapt_datefield_value(d) for d in (days.start, days.end))
    sql = COUNTERS_SQL.format(
        table=connection.ops.quote_name(DailyCount._meta.db_table),
        metrics=placeholders(metrics.METRICS),
        quarantine=placeholders(QUARANTINE),
        cumulative=placeholders(cumulative_metrics),
        children=placeholders(child_ids),
    )
    params = [
        *(area.pk, *metrics.METRICS, start, end),
        *(area.pk, *QUARANTINE, start, end),
        *(area.pk, *cumulative_metrics, end),
        *(*child_ids, *metrics.METRICS, start, end),
        *(area.pk, metrics.CHECKPOINT_PLACE, end),
    ]
    counters = Counters({}, {}, {}, {})
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for part, metric, key, day, value in cursor.fetchall():
            if part == "d":
                counters.daily[(metric, key, date_of(day))] = value
            elif part == "c":
                counters.cumulative[(metric, key)] = value
            elif part == "b":
                counters.by_child[(int(key), metric)] = value
            else:
                counters.checkpoints[key] = value
    return counters


def placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def date_of(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)  # SQLite: text


def headline(area: Area, children: list[Area], days: Range, daily: dict, cumulative: dict) -> dict:
    today, yesterday = days.end, days.end - timedelta(days=1)
    cards = {
        name: {
            "today": daily.get((metric, TOTAL, today), 0),
            "yesterday": daily.get((metric, TOTAL, yesterday), 0),
            "total": cumulative.get((metric, TOTAL), 0),
        }
        for name, metric in HEADLINE.items()
    }
    population = population_of(area, children)
    return {
        **cards,
        "quarantine_facility_active": active(cumulative, FACILITY),
        "quarantine_home_active": active(cumulative, HOME),
        "missed_checkins_today": daily.get((metrics.MISSED_CHECKINS, TOTAL, today), 0),
        "coverage_one_dose": coverage(cumulative, "1", population),
        "coverage_two_doses": coverage(cumulative, "2", population),
    }


def active(cumulative: dict, kind: str) -> int:
    started = cumulative.get((metrics.QUARANTINE_STARTED, kind), 0)
    return started - cumulative.get((metrics.QUARANTINE_ENDED, kind), 0)


def coverage(cumulative: dict, dose: str, population: int | None) -> float | None:
    """Share of the population given dose number ``dose`` of any vaccine (None: no population)."""
    if not population:
        return None
    given = sum(v for (m, k), v in cumulative.items() if m == metrics.DOSES and k.rpartition("|")[2] == dose)
    return round(given / population, 4)


def population_of(area: Area, children: list[Area]) -> int | None:
    """The area's population, else the sum of its children's (as the statistics office gives)."""
    if area.population:
        return area.population
    return sum(child.population or 0 for child in children) or None


def series(days: Range, daily: dict, cumulative: dict) -> dict:
    """A value a date for each metric, and the active quarantines at each date's end."""
    dates = days.dates
    lines = {"dates": [d.isoformat() for d in dates]}
    for metric in metrics.METRICS:
        lines[metric] = [daily.get((metric, TOTAL, d), 0) for d in dates]
    for kind in (FACILITY, HOME):
        lines[f"quarantine_{kind}_active"] = active_by_date(dates, daily, active(cumulative, kind), kind)
    return lines


def active_by_date(dates: list[date], daily: dict, at_end: int, kind: str) -> list[int]:
    """Active orders at the end of each date, counting back from the range's last day."""
    values, current = [], at_end
    for day in reversed(dates):
        values.append(current)
        current -= daily.get((metrics.QUARANTINE_STARTED, kind, day), 0)
        current += daily.get((metrics.QUARANTINE_ENDED, kind, day), 0)
    return values[::-1]


def by_child(children: list[Area], days: Range) -> list[dict]:
    """Each child's total of every metric over the range (drill-down), in one query."""
    rows = (
        DailyCount.objects.filter(
            area__in=children, metric__in=metrics.METRICS, key=TOTAL, date__gte=days.start, date__lte=days.end
        )
        .values_list("area_id", "metric")
        .annotate(total=Sum("value"))
        .order_by()
    )
    return child_rows(children, {(area_id, metric): total for area_id, metric, total in rows})


def child_rows(children: list[Area], totals: dict) -> list[dict]:
    """{(child id, metric): total} as the dashboard's rows, a child each, every metric."""
    return [
        {"code": child.code, "name": child.name, **{m: totals.get((child.pk, m), 0) for m in metrics.METRICS}}
        for child in children
    ]


# Plain SQL: the ORM took 4 ms to build and compile this query, which runs in 0.3.
FACILITIES_SQL = """
SELECT p.code, p.name, p.capacity,
       (SELECT COUNT(*) FROM {orders} o WHERE o.facility_id = p.id AND o.status = %s)
  FROM {places} p JOIN {areas} a ON a.id = p.area_id
 WHERE p.kind = %s AND p.is_active AND a.path LIKE %s
 ORDER BY p.name
"""


def facilities_occupancy(area: Area) -> list[dict]:
    """The area's quarantine facilities in use: capacity and active orders."""
    sql = FACILITIES_SQL.format(
        orders=QuarantineOrder._meta.db_table, places=Place._meta.db_table, areas=Area._meta.db_table
    )
    params = [QuarantineOrder.STATUS_ACTIVE, Place.KIND_QUARANTINE_FACILITY, f"{area.path}%"]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        {"place": code, "name": name, "capacity": capacity, "active": count}
        for code, name, capacity, count in rows
    ]


def checkpoint_flows(counts: dict) -> list[dict]:
    """Each checkpoint's passages in and out on the range's last day (the map's markers)."""
    flows = defaultdict(lambda: {"in": 0, "out": 0})
    for key, value in counts.items():
        place_id, _bar, direction = key.partition("|")
        if place_id.isdigit() and direction in flows.default_factory():
            flows[int(place_id)][direction] += value
    if not flows:
        return []
    places = Place.objects.filter(pk__in=flows).order_by("name").values_list("pk", "code", "name")
    return [{"place": code, "name": name, **flows[pk]} for pk, code, name in places]


# --- the maps ------------------------------------------------------------------------------

LAYER_F0, LAYER_F1, LAYER_QUARANTINE = "f0", "f1", "quarantine"
LAYERS = (LAYER_F0, LAYER_F1, LAYER_QUARANTINE)
RESTRICTED_LAYERS = {LAYER_F1, LAYER_QUARANTINE}
BAD_LAYERS = lazy(lambda: gettext("Layers are among: %(layers)s.") % {"layers": ", ".join(LAYERS)}, str)()


def layers_parse(text: str | None, *, user) -> set[str]:
    """The layers asked for (F0 by default) that the user may see: F1 and quarantine need
    the right to view persons and are left out silently without it."""
    asked = {part.strip() for part in (text or LAYER_F0).split(",") if part.strip()}
    if not asked <= set(LAYERS):
        raise BadRange(BAD_LAYERS)
    if not user.has_perm("tracing.view_person"):
        asked -= RESTRICTED_LAYERS
    return asked


def case_features(area: Area, days: Range, layers: set[str]) -> list[dict]:
    """GeoJSON points of F0s (and F1s) who became so in the range, and of active quarantines,
    in ``area``: ids, levels, dates and areas only, never names."""
    features = []
    levels = {level for layer, level in ((LAYER_F0, "F0"), (LAYER_F1, "F1")) if layer in layers}
    if levels:
        features += map_cases(area, days, levels)
    if LAYER_QUARANTINE in layers:
        features += quarantines(area)
    return features


def map_cases(area: Area, days: Range, levels: set[str]) -> list[dict]:
    subtree = Area.objects.filter(path__startswith=area.path).values("pk")
    cases = list(
        MapCase.objects.filter(area__in=subtree, date__gte=days.start, date__lte=days.end, level__in=levels)
        .select_related("area")
        .order_by("date", "person_id")
    )
    cases_f0 = {case.person_id for case in cases if case.level == "F0"}
    cases = [case for case in cases if case.level == "F0" or case.person_id not in cases_f0]
    points = area_points([case.area for case in cases])
    return [
        point_feature(
            points.get(case.area_id),
            {
                "id": case.person_id,
                "level": case.level,
                "date": case.date.isoformat(),
                "area": {"code": case.area.code, "name": case.area.name},
                "kind": "case" if case.level == "F0" else "contact",
            },
        )
        for case in cases
    ]


def quarantines(area: Area) -> list[dict]:
    orders = list(
        QuarantineOrder.objects.filter(
            status=QuarantineOrder.STATUS_ACTIVE, area__path__startswith=area.path
        ).select_related("area", "facility")
    )
    points = area_points([order.area for order in orders])
    features = []
    for order in orders:
        facility = order.facility
        point = (facility.latitude, facility.longitude) if facility and facility.location else None
        properties = {
            "id": order.person_id,
            "level": order.level,
            "date": order.start_date.isoformat(),
            "area": {"code": order.area.code, "name": order.area.name},
            "kind": "quarantine",
            "quarantine": order.kind,
        }
        features.append(point_feature(point or points.get(order.area_id), properties))
    return features


def point_feature(point, properties: dict) -> dict:
    geometry = {"type": "Point", "coordinates": [point[1], point[0]]} if point else None
    return {"type": "Feature", "geometry": geometry, "properties": properties}


AREA_METRICS = (metrics.CASES[0], metrics.CASES[1], metrics.TESTS, metrics.TESTS_POSITIVE, metrics.DOSES)


def communes_of(area: Area) -> list[Area]:
    """The communes in ``area`` (itself when it is one, or below)."""
    if area.depth >= COMMUNE_DEPTH:
        return [area]
    return list(Area.objects.filter(path__startswith=area.path, depth=COMMUNE_DEPTH).order_by("path"))


def area_features(area: Area, days: Range) -> list[dict]:
    """Counts per commune over the range (public-safe: numbers only), with the commune's outline
    when one was imported, else its centroid."""
    communes = communes_of(area)
    rows = (
        DailyCount.objects.filter(
            area__in=communes, key=TOTAL, metric__in=AREA_METRICS, date__gte=days.start, date__lte=days.end
        )
        .values("area_id", "metric")
        .annotate(total=Sum("value"))
        .order_by()
    )
    totals = defaultdict(dict)
    for row in rows:
        totals[row["area_id"]][row["metric"]] = row["total"]
    outlines = dict(AreaBoundary.objects.filter(area__in=communes).values_list("area_id", "geometry"))
    points = area_points(communes)
    features = []
    for commune in communes:
        point = points.get(commune.pk) if commune.location else None
        geometry = outlines.get(commune.pk) or point_feature(point, {})["geometry"]
        properties = {
            "code": commune.code,
            "name": commune.name,
            **{m: totals[commune.pk].get(m, 0) for m in AREA_METRICS},
        }
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return features
