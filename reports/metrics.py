"""What each source row adds to the daily counters: one function per kind of row, used alike
by the outbox handlers (incremental) and by ``rebuild`` (from scratch), so the two cannot
disagree about what counts, on which date or in which area.

Each function returns ``Count`` tuples for the row's own area; ``services.counts_add``
carries them up to every ancestor area.
"""

from collections import defaultdict
from datetime import date
from typing import NamedTuple

from django.db.models import Min
from django.utils import timezone

from forms_engine import models as forms
from forms_engine.models import Submission
from tracing.models import Alert, Classification, Person, QuarantineOrder, SubmissionPerson, f_degree
from tracing.quarantine import submission_local_date

# The metric names of the contract (DailyCount.metric); docs: README's API section.
CHECKPOINT_IN = "checkpoint_in"  # key: origin province code
CHECKPOINT_OUT = "checkpoint_out"
# Passages by checkpoint, for the map's markers: key "<place id>|in" or "<place id>|out". Not a
# dashboard series (not in METRICS): its total over keys would only repeat in + out.
CHECKPOINT_PLACE = "checkpoint_place"
DECLARATIONS = "declarations"
TESTS = "tests"  # key: test type
TESTS_POSITIVE = "tests_positive"
DOSES = "doses"  # key: "<vaccine>|<dose number>"
CASES = {0: "cases_f0", 1: "cases_f1", 2: "cases_f2"}  # new that day
CASES_LEVELS = tuple(f"F{degree}" for degree in CASES)
QUARANTINE_STARTED = "quarantine_started"  # key: facility | home
QUARANTINE_ENDED = "quarantine_ended"
ALERTS = "alerts"  # key: alert kind
MISSED_CHECKINS = "missed_checkins"

METRICS = (
    CHECKPOINT_IN,
    CHECKPOINT_OUT,
    DECLARATIONS,
    TESTS,
    TESTS_POSITIVE,
    DOSES,
    *CASES.values(),
    QUARANTINE_STARTED,
    QUARANTINE_ENDED,
    ALERTS,
    MISSED_CHECKINS,
)
KEY_MAX_LENGTH = 64  # DailyCount.key
DIRECTIONS = {"in": CHECKPOINT_IN, "out": CHECKPOINT_OUT}
POSITIVE = "positive"


class Count(NamedTuple):
    area_id: int
    date: date
    metric: str
    key: str = ""
    value: int = 1


# --- accepted submissions ------------------------------------------------------------------


def submission_counts(item) -> list[Count]:
    """What one accepted submission adds (``item``: tracing.handlers.Accepted: the submission
    with its version, its form's kind and its values by role)."""
    area_id = item.submission.area_id
    counter = SUBMISSION_COUNTERS.get(item.kind)
    if area_id is None or counter is None:
        return []
    day = submission_local_date(item.submission)
    return [Count(area_id, when, metric, key_text(key)) for when, metric, key in counter(item, day)]


def checkpoint_counts(item, day):
    direction = str(item.value("direction", ""))
    metric = DIRECTIONS.get(direction)
    if not metric:
        return []
    counts = [(day, metric, item.value("origin", ""))]
    if item.submission.place_id:
        counts.append((day, CHECKPOINT_PLACE, f"{item.submission.place_id}|{direction}"))
    return counts


def declaration_counts(item, day):
    return [(day, DECLARATIONS, "")]


def testing_counts(item, day):
    """A result counts on its sample's date (a result of Monday's sample is Monday's test)."""
    when = role_date(item, "sample_date") or day
    test_type = item.value("test_type", "")
    done = [(when, TESTS, test_type)]
    return [*done, (when, TESTS_POSITIVE, test_type)] if item.value("test_result") == POSITIVE else done


def vaccination_counts(item, day):
    """A dose counts on the day it was given (paper records are often entered days later)."""
    when = role_date(item, "vaccination_date") or day
    return [(when, DOSES, f"{item.value('vaccine', '')}|{item.value('dose', '')}")]


SUBMISSION_COUNTERS = {
    forms.KIND_CHECKPOINT: checkpoint_counts,
    forms.KIND_HEALTH_DECLARATION: declaration_counts,
    forms.KIND_TESTING: testing_counts,
    forms.KIND_VACCINATION: vaccination_counts,
}


def role_date(item, role: str) -> date | None:
    """The date a field of ``role`` holds, or None (absent, or not a date)."""
    value = item.value(role)
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def key_text(value) -> str:
    return "" if value is None else str(value)[:KEY_MAX_LENGTH]


# --- tracing: levels, quarantine orders, alerts ----------------------------------------------


def persons_areas(person_ids) -> dict[int, int]:
    """{person id: area id}: the home area, else the area of the first accepted submission
    naming the person (docs/tracing.md: the team that follows them up). Two queries."""
    person_ids = set(person_ids)
    areas = dict(
        Person.objects.filter(pk__in=person_ids, home_area__isnull=False).values_list("pk", "home_area_id")
    )
    homeless = person_ids - set(areas)
    if homeless:
        first = (
            SubmissionPerson.objects.filter(
                person_id__in=homeless,
                submission__status=Submission.STATUS_ACCEPTED,
                submission__area__isnull=False,
            )
            .values("person_id")
            .annotate(first=Min("submission_id"))
        )
        firsts = {row["first"]: row["person_id"] for row in first}
        for submission_id, area_id in Submission.objects.filter(pk__in=firsts).values_list("pk", "area_id"):
            areas[firsts[submission_id]] = area_id
    return areas


def counted_areas_fix(rows) -> list:
    """Give each row (a Classification, QuarantineOrder or Alert) that has no area the area its
    person belongs to now (``persons_areas``), and store it: the row counts there from then on,
    whether a handler or a rebuild counts it, whatever later happens to the person (a merge,
    a home address filled in). Returns the rows."""
    missing = [row for row in rows if row.area_id is None]
    if not missing:
        return rows
    areas = persons_areas(row.person_id for row in missing)
    by_area = defaultdict(list)
    for row in missing:
        if area_id := areas.get(row.person_id):
            row.area_id = area_id
            by_area[area_id].append(row.pk)
    model = type(missing[0])
    for area_id, ids in by_area.items():
        model.objects.filter(pk__in=ids, area__isnull=True).update(area_id=area_id)
    return rows


def classification_counted(row: Classification) -> bool:
    return f_degree(row.level) in CASES and row.level != row.level_from


def classification_counts(rows: list[Classification]) -> list[Count]:
    """A change to F0, F1 or F2 is a new case or contact of that level on the day it happened
    (a rise F2 → F1 is a new F1), in the row's area (``counted_areas_fix``)."""
    return [
        Count(row.area_id, timezone.localdate(row.created_at), CASES[f_degree(row.level)])
        for row in rows
        if classification_counted(row) and row.area_id
    ]


def order_started_counts(orders) -> list[Count]:
    return [
        Count(order.area_id, order.start_date, QUARANTINE_STARTED, order.kind)
        for order in orders
        if order.area_id
    ]


def order_ended_counts(orders) -> list[Count]:
    return [
        Count(order.area_id, timezone.localdate(order.ended_at), QUARANTINE_ENDED, order.kind)
        for order in orders
        if order.ended_at is not None and order.status != QuarantineOrder.STATUS_ACTIVE and order.area_id
    ]


def alert_counts(alerts: list[Alert]) -> list[Count]:
    counts = []
    for alert in alerts:
        if not alert.area_id:
            continue
        day = timezone.localdate(alert.created_at)
        counts.append(Count(alert.area_id, day, ALERTS, alert.kind))
        if alert.kind == Alert.KIND_MISSED_CHECKIN:
            counts.append(Count(alert.area_id, day, MISSED_CHECKINS))
    return counts
