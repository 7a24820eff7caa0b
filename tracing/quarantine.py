"""Quarantine orders by rule, daily check-ins, alerts, release and facility occupancy.

Orders come from rules (QuarantineRule: where and how long, per level) when persons reach a
level, and from checkpoint arrivals out of a hot area (TracingSettings.hot_origins). One
active order per person (the ``one_active_quarantine`` constraint): every writer inserts with
``ignore_conflicts``, so a job run twice, or two rules at once, add nothing. An order ends by
the quarantine-release workflow (an accepted end-of-quarantine submission), or by staff
marking it broken or transferred (``order_end``); passing its planned end does not end it.

Check-ins attach to the active order; a fever, a low SpO2 or any symptom raises an alert and
asks for a test. Once a day, after TRACING_CHECKIN_DEADLINE_HOUR, every order that had no
check-in that day raises an alert (``missed_checkins_due``, run by the scheduler).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.log_actions import log

from places.models import Area, Place
from places.selectors import ancestor_paths
from workflows.events import every, handles
from workflows.models import Event
from workflows.outbox import event_record

from . import changes, testing
from .bulk import rows_insert, unnest_of
from .models import (
    Alert,
    Person,
    QuarantineCheckIn,
    QuarantineOrder,
    QuarantineRule,
    TestRequest,
    TracingSettings,
)
from .notify import alerts_publish_on_commit

CHECKINS_DUE = "quarantine.checkins_due"
ALERT_NOTICE = "tracing.quarantine_alert"  # the live notice to an area's team of new alerts
ACTIVE = QuarantineOrder.STATUS_ACTIVE
ENDINGS_BY_STAFF = (QuarantineOrder.STATUS_BROKEN, QuarantineOrder.STATUS_TRANSFERRED)
ORDERS_INSERT_BATCH = 500  # rows an INSERT statement at most (12 parameters a row)
NOT_ACTIVE = _("This quarantine order has already ended.")
NOT_AN_ENDING = _("Staff may only mark an order as broken or transferred; release goes through its workflow.")
NOTE_REQUIRED = _("Say why the order ends.")


# --- occupancy and the choice of a facility ------------------------------------------------


def occupancy(places=None) -> dict[int, dict]:
    """{place id: {"capacity": n or None, "active": active facility orders}} in one query.

    ``places``: Place objects or ids; by default every quarantine facility.
    """
    queryset = Place.objects.all()
    if places is None:
        queryset = queryset.filter(kind=Place.KIND_QUARANTINE_FACILITY)
    else:
        queryset = queryset.filter(pk__in=[getattr(place, "pk", place) for place in places])
    rows = queryset.annotate(active=active_orders_count()).values_list("pk", "capacity", "active")
    return {pk: {"capacity": capacity, "active": count} for pk, capacity, count in rows}


def active_orders_count():
    """An annotation of places: the active facility orders they hold (0 for none)."""
    active = (
        QuarantineOrder.objects.filter(facility=OuterRef("pk"), status=ACTIVE)
        .order_by()
        .values("facility")
        .annotate(n=Count("facility"))  # not "pk": quarantine_facility_status answers alone
        .values("n")
    )
    return Coalesce(Subquery(active), Value(0))


@dataclass
class Facility:
    pk: int
    area_id: int
    path: str  # its area's path in the tree
    capacity: int
    active: int

    @property
    def free(self) -> int:
        return self.capacity - self.active


def facilities_with_room() -> list[Facility]:
    """Facilities in use that record a capacity (one without cannot be known to have room),
    with their active orders: one query. PLACEMENT_SQL reads the same on PostgreSQL: change
    both together."""
    places = (
        Place.objects.filter(kind=Place.KIND_QUARANTINE_FACILITY, is_active=True, capacity__isnull=False)
        .order_by()  # facility_choose decides among them
        .annotate(active=active_orders_count())
        .values_list("pk", "area_id", "area__path", "capacity", "active")
    )
    return [Facility(*row) for row in places]


def facility_choose(facilities: list[Facility], home_path: str) -> Facility | None:
    """The least occupied facility with room in the nearest area up the tree from home.

    The home village first, then its commune, district, province: the first level that has
    a facility with room decides; among its facilities the least occupied (by share) wins.
    """
    prefixes = ancestor_paths(home_path, include_self=True)[::-1] or [""]
    for prefix in prefixes:
        near = [f for f in facilities if f.free > 0 and f.path.startswith(prefix)]
        if near:
            return min(near, key=lambda f: (f.active / f.capacity, f.active, f.pk))
    return None


# --- orders ----------------------------------------------------------------------------------


def orders_for_level(person_ids: list[int], level: str, *, case_id=None, job: str = "") -> list[int]:
    """An order for each person without an active one, by the level's QuarantineRule
    (``orders_for_levels`` for one level). Returns the new orders' ids."""
    return orders_for_levels({level: person_ids}, case_id=case_id, job=job)


def orders_for_levels(levels: dict[str, list[int]], *, case_id=None, job: str = "") -> list[int]:
    """An order for each person (by level) without an active one, by the level's QuarantineRule:
    a new case's F1s and F2s in a few statements, whatever their number.

    A facility rule places each person in the least occupied facility with room nearest their
    home (``facility_choose``), counting the ones placed by this call; none found, the order
    is made without a facility and the area's team assigns one. Returns the new orders' ids.
    """
    wanted = {pk: level for level, ids in levels.items() for pk in ids}
    rules = rules_of(levels) if wanted else {}
    wanted = {pk: level for pk, level in wanted.items() if level in rules}
    if not wanted:
        return []
    placed = facilities_assign(
        [pk for pk, level in wanted.items() if rules[level].kind == QuarantineRule.KIND_FACILITY]
    )
    today, now = timezone.localdate(), timezone.now()
    reasons = {level: order_reason(level, case_id) for level in rules}
    orders = []
    for person_id, level in sorted(wanted.items()):
        rule, facility = rules[level], placed.get(person_id)
        orders.append(
            {
                "person_id": person_id,
                "kind": rule.kind,
                "facility_id": facility.pk if facility else None,
                "area_id": facility.area_id if facility else None,  # None: the person's home area
                "level": level,
                "reason": reasons[level],
                "start_date": today,
                "planned_end": today + timedelta(days=rule.days),
                "created_at": now,
            }
        )
    return orders_insert(orders)


class Rule(NamedTuple):
    kind: str
    days: int


def rules_of(levels) -> dict[str, Rule]:
    """{level: its QuarantineRule's kind and days} for those of ``levels`` that have one. A
    plain query: on every new case's expansion the ORM took longer to build it than the
    database to answer it."""
    levels = list(levels)
    if not levels:
        return {}
    placeholders = ", ".join(["%s"] * len(levels))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT level, kind, days FROM {QuarantineRule._meta.db_table} "  # noqa: S608 - model's name
            f"WHERE level IN ({placeholders})",
            levels,
        )
        return {level: Rule(kind, days) for level, kind, days in cursor.fetchall()}


def persons_to_order(person_ids):
    """Those of ``person_ids`` an order may be made for: not merged, no active order."""
    return Person.objects.filter(pk__in=person_ids, merged_into__isnull=True).exclude(
        Exists(QuarantineOrder.objects.filter(person=OuterRef("pk"), status=ACTIVE))
    )


def facilities_assign(person_ids: list[int]) -> dict[int, Facility]:
    """{person id: the facility each goes to} for those of ``person_ids`` to be ordered (not
    merged, no active order), in the order of their ids; a person no facility has room for is
    left out. Each placed person makes their facility fuller for the next."""
    if not person_ids:
        return {}
    if connection.vendor == "postgresql":
        persons, facilities = placement_read(person_ids)
    else:
        persons = persons_to_order(person_ids).order_by("pk").values_list("pk", "home_area__path")
        facilities = facilities_with_room()
    placed = {}
    for person_id, home_path in persons:
        facility = facility_choose(facilities, home_path or "")
        if facility is not None:
            facility.active += 1  # the next person sees it fuller
            placed[person_id] = facility
    return placed


# PostgreSQL: facilities_assign's two reads in one round trip (the ORM's would take two, and
# compiling them cost more than running them): the persons to place with their homes' paths
# (kind "person"), then facilities_with_room (kind "facility").
PLACEMENT_SQL = """
SELECT 'person', p.id, NULL, a.path, NULL, NULL FROM {persons} p
LEFT JOIN {areas} a ON a.id = p.home_area_id
WHERE p.id = ANY(%(ids)s::bigint[]) AND p.merged_into_id IS NULL
    AND NOT EXISTS (SELECT FROM {orders} o WHERE o.person_id = p.id AND o.status = %(active)s)
UNION ALL
SELECT 'facility', f.id, f.area_id, a.path, f.capacity,
    (SELECT count(o.facility_id) FROM {orders} o WHERE o.facility_id = f.id AND o.status = %(active)s)
FROM {places} f JOIN {areas} a ON a.id = f.area_id
WHERE f.kind = %(facility)s AND f.is_active AND f.capacity IS NOT NULL
ORDER BY 1 DESC, 2
"""


def placement_read(person_ids: list[int]) -> tuple[list[tuple[int, str]], list[Facility]]:
    sql = PLACEMENT_SQL.format(
        persons=Person._meta.db_table,
        areas=Area._meta.db_table,
        orders=QuarantineOrder._meta.db_table,
        places=Place._meta.db_table,
    )
    params = {"ids": sorted(person_ids), "active": ACTIVE, "facility": Place.KIND_QUARANTINE_FACILITY}
    persons, facilities = [], []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, pk, area_id, path, capacity, active in cursor.fetchall():
            if kind == "person":
                persons.append((pk, path))
            else:
                facilities.append(Facility(pk, area_id, path, capacity, active))
    return persons, facilities


def order_reason(level: str, case_id) -> str:
    if case_id:
        return gettext("%(level)s of case #%(case)s") % {"level": level, "case": case_id}
    return gettext("%(level)s, by the quarantine rule") % {"level": level}


def orders_insert(orders: list[dict]) -> list[int]:
    """Insert orders (QuarantineOrder field → value; an ``area_id`` of None is the person's home
    area), skipping merged persons and those who already have an active order; the ids of
    those inserted, with their ``quarantine.changed`` event."""
    if not orders:
        return []
    insert = orders_insert_select if connection.vendor == "postgresql" else orders_insert_rows
    new = insert(orders)
    changes.orders_changed(new, changes.ORDERS_STARTED)
    return new


# PostgreSQL: the orders as arrays, joined to their persons for the checks and the home areas.
ORDERS_INSERT_SQL = """
INSERT INTO {orders} ({columns}, status)
SELECT {values}, %(active)s FROM {rows}
JOIN {persons} p ON p.id = w.person_id AND p.merged_into_id IS NULL
WHERE NOT EXISTS (SELECT FROM {orders} o WHERE o.person_id = w.person_id AND o.status = %(active)s)
ORDER BY w.person_id
ON CONFLICT DO NOTHING RETURNING id
"""


def orders_insert_select(orders: list[dict]) -> list[int]:
    rows, values, params = unnest_of(QuarantineOrder, orders)
    area = connection.ops.quote_name(QuarantineOrder._meta.get_field("area").column)
    values[area] = f"COALESCE({values[area]}, p.home_area_id)"
    sql = ORDERS_INSERT_SQL.format(
        orders=QuarantineOrder._meta.db_table,
        persons=Person._meta.db_table,
        columns=", ".join(values),
        values=", ".join(values.values()),
        rows=rows,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "active": ACTIVE})
        return sorted(row[0] for row in cursor.fetchall())


def orders_insert_rows(orders: list[dict]) -> list[int]:
    """Other databases: the persons read, then multi-row INSERTs (rows_insert)."""
    homes = dict(persons_to_order({order["person_id"] for order in orders}).values_list("pk", "home_area_id"))
    orders = [
        {**order, "area_id": order.get("area_id") or homes[order["person_id"]]}
        for order in orders
        if order["person_id"] in homes
    ]
    new = []
    for start in range(0, len(orders), ORDERS_INSERT_BATCH):
        new += rows_insert(QuarantineOrder, orders[start : start + ORDERS_INSERT_BATCH])
    return new


def travellers_order(items) -> None:
    """Checkpoint arrivals from a hot area (TracingSettings.hot_origins): home quarantine.

    The order is watched by the destination's area (role ``destination``), else the person's
    home area; it starts the day the declaration was filled in.
    """
    tracing = TracingSettings.load()
    hot = tracing.hot_origin_values()
    arrivals = [item for item in items if item.person is not None and arrived_from_hot_area(item, hot)]
    if not arrivals:
        return
    codes = {str(item.value("destination")) for item in arrivals if item.value("destination")}
    areas = dict(Area.objects.filter(code__in=codes).values_list("code", "pk"))
    now = timezone.now()
    orders = {}
    for item in arrivals:
        person = item.person
        start = submission_local_date(item.submission)
        origin = choice_label(item, "origin", item.value("origin"))
        orders.setdefault(
            person.pk,
            {
                "person_id": person.pk,
                "kind": QuarantineRule.KIND_HOME,
                "area_id": areas.get(str(item.value("destination") or "")) or person.home_area_id,
                "level": person.level,
                "reason": gettext("Arrived from %(origin)s") % {"origin": origin},
                "start_date": start,
                "planned_end": start + timedelta(days=tracing.traveller_quarantine_days),
                "source_submission_id": item.submission.pk,
                "created_at": now,
            },
        )
    orders_insert(list(orders.values()))


def arrived_from_hot_area(item, hot: set[str]) -> bool:
    """An arrival ("in") whose origin, by stored value or by its label, is listed as hot."""
    if item.value("direction") != "in" or not hot:
        return False
    origin = str(item.value("origin") or "")
    return bool(origin) and (origin in hot or choice_label(item, "origin", origin) in hot)


def choice_label(item, role: str, value) -> str:
    """The label the form's version gives a choice value (the value itself if none)."""
    key = item.role_key(role)
    spec = next((s for s in item.submission.version.schema if s.get("key") == key), {})
    labels = {str(c.get("value")): c.get("label") for c in spec.get("choices", [])}
    return labels.get(str(value), str(value))


def submission_local_date(submission) -> date:
    """The province's date the submission was filled in: the device's time unless it is later
    than the server's (a phone's clock ahead), else when it was received."""
    at = submission.client_created_at
    if at is None or at > submission.created_at:
        at = submission.created_at
    return timezone.localdate(at)


# --- daily check-ins and their alerts --------------------------------------------------------


def checkins_record(items) -> None:
    """Daily check-ins attached to the person's active order; fever/SpO2/symptom alerts.

    A check-in from a person with no active order is not stored as a quarantine check-in
    (there is no order to attach it to), but its alerts are still raised (without an order):
    a fever matters whatever the paperwork says. Any alert asks for a test.
    """
    items = [item for item in items if item.person is not None]
    if not items:
        return
    tracing = TracingSettings.load()
    orders = {
        order.person_id: order
        for order in QuarantineOrder.objects.filter(person_id__in={i.person.pk for i in items}, status=ACTIVE)
    }
    checkins, alerts, unwell = [], [], set()
    for item in items:
        order = orders.get(item.person.pk)
        reading = Reading.of(item)
        if order is not None:
            checkins.append(
                QuarantineCheckIn(
                    order=order,
                    submission=item.submission,
                    date=submission_local_date(item.submission),
                    temperature=reading.temperature,
                    spo2=reading.spo2,
                    symptoms=reading.symptoms,
                )
            )
        for kind, message in reading.alerts(tracing, item):
            alerts.append(alert_of(item, order, kind=kind, message=message))
            unwell.add(item.person.pk)
    QuarantineCheckIn.objects.bulk_create(checkins, ignore_conflicts=True)
    alerts_raise(alerts)
    if unwell:
        testing.requests_open(sorted(unwell), TestRequest.REASON_SYMPTOMS, job=items[0].job)


@dataclass
class Reading:
    temperature: Decimal | None
    spo2: int | None
    symptoms: list

    @classmethod
    def of(cls, item) -> "Reading":
        symptoms = item.value("symptoms") or []
        return cls(
            temperature=decimal_or_none(item.value("temperature")),
            spo2=int(item.value("spo2")) if isinstance(item.value("spo2"), int | float) else None,
            symptoms=list(symptoms) if isinstance(symptoms, list) else [symptoms],
        )

    def alerts(self, tracing: TracingSettings, item) -> list[tuple[str, str]]:
        """(kind, message) for each reading past the province's thresholds."""
        found = []
        if self.temperature is not None and self.temperature >= tracing.fever_celsius:
            found.append(
                (Alert.KIND_FEVER, gettext("Temperature %(value)s °C") % {"value": self.temperature})
            )
        if self.spo2 is not None and self.spo2 < tracing.spo2_alert_below:
            found.append((Alert.KIND_LOW_SPO2, gettext("SpO2 %(value)s %%") % {"value": self.spo2}))
        if self.symptoms:
            names = ", ".join(choice_label(item, "symptoms", value) for value in self.symptoms)
            found.append((Alert.KIND_SYMPTOMS, gettext("Symptoms: %(symptoms)s") % {"symptoms": names}))
        return found


def decimal_or_none(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.1"))
    except InvalidOperation:
        return None


def alerts_raise(alerts: list[Alert]) -> int:
    """Insert the alerts not raised before (by key) and tell their areas' teams live once
    committed; how many were new."""
    if not alerts:
        return 0
    now = timezone.now()
    for alert in alerts:
        alert.created_at = now
    Alert.objects.bulk_create(alerts, ignore_conflicts=True, batch_size=1000)
    new = list(
        Alert.objects.filter(key__in=[a.key for a in alerts], created_at=now).values_list("pk", "area_id")
    )
    changes.alerts_raised([pk for pk, _area in new])
    alerts_publish_on_commit(new, event_type=ALERT_NOTICE)
    return len(new)


def alert_of(item, order, *, kind: str, message: str) -> Alert:
    """One alert per kind and submission (its key): a job run twice raises it once."""
    person = item.person
    return Alert(
        key=f"{kind}:{item.submission.pk}",
        kind=kind,
        person=person,
        area_id=(order.area_id if order else None) or person.home_area_id or item.submission.area_id,
        order=order,
        submission=item.submission,
        message=message[:300],
    )


def missed_checkins_alert(today=None) -> int:
    """An alert for each active order without a check-in today (scheduled; idempotent).

    Orders that started today are left alone: their first day is not over before they began.
    Returns the number of alerts raised by this call (0 when run again the same day).
    """
    today = today or timezone.localdate()
    missed = (
        QuarantineOrder.objects.filter(status=ACTIVE, start_date__lt=today)
        .exclude(Exists(QuarantineCheckIn.objects.filter(order=OuterRef("pk"), date=today)))
        .values_list("pk", "person_id", "area_id")
    )
    message = gettext("No check-in on %(date)s") % {"date": today.strftime("%d/%m/%Y")}
    keys = {pk: f"{Alert.KIND_MISSED_CHECKIN}:{pk}:{today.isoformat()}" for pk, _, _ in missed}
    raised = set(Alert.objects.filter(key__in=keys.values()).values_list("key", flat=True))
    alerts = [
        Alert(
            key=keys[pk],
            kind=Alert.KIND_MISSED_CHECKIN,
            person_id=person_id,
            area_id=area_id,
            order_id=pk,
            message=message,
        )
        for pk, person_id, area_id in missed
        if keys[pk] not in raised
    ]
    return alerts_raise(alerts)


@every("OVERDUE_CHECK_SECONDS")
def missed_checkins_due(now: datetime | None = None) -> bool:
    """Once a day after TRACING_CHECKIN_DEADLINE_HOUR (province time): the missed check-in
    alerts, as an outbox event keyed by the date, so the day's run is recorded once however
    often this is called; its job (``checkins_due``) raises the alerts. True when it recorded
    today's event just now.

    The scheduler calls it every OVERDUE_CHECK_SECONDS (``every``); without Redis, the admin dashboard
    does (website/wagtail_hooks.py), and the job runs at once in the web process.
    """
    local = timezone.localtime(now or timezone.now())
    if local.hour < settings.TRACING_CHECKIN_DEADLINE_HOUR:
        return False
    day = local.date().isoformat()
    key = f"{CHECKINS_DUE}:{day}"
    if Event.objects.filter(key=key).exists():
        return False
    with transaction.atomic():
        event_record(kind=CHECKINS_DUE, key=key, payload={"date": day})
    return True


@handles(CHECKINS_DUE, queue="tracing")
def checkins_due(event):
    """The day's missed check-in alerts (missed_checkins_due recorded the day's event)."""
    return {"alerts": missed_checkins_alert(date.fromisoformat(event.payload["date"]))}


# --- the end of an order ------------------------------------------------------------------------


def releases_record(items) -> None:
    """Accepted end-of-quarantine submissions complete the person's active order."""
    items = [item for item in items if item.person is not None]
    if not items:
        return
    releases = {item.person.pk: item.submission for item in items}
    now = timezone.now()
    orders = list(QuarantineOrder.objects.filter(person_id__in=releases, status=ACTIVE))
    for order in orders:
        order.status = QuarantineOrder.STATUS_COMPLETED
        order.ended_at = now
        order.release_submission = releases[order.person_id]
    QuarantineOrder.objects.bulk_update(orders, ["status", "ended_at", "release_submission"])
    changes.orders_changed([order.pk for order in orders], changes.ORDERS_ENDED)


def order_end(order: QuarantineOrder, status: str, *, user, note: str) -> QuarantineOrder:
    """Staff mark an active order broken (the person left) or transferred (moved elsewhere,
    e.g. to hospital); the note says why and is kept in the order's history."""
    if status not in ENDINGS_BY_STAFF:
        raise ValidationError({"status": NOT_AN_ENDING})
    if not (note or "").strip():
        raise ValidationError({"note": NOTE_REQUIRED})
    with transaction.atomic():
        ended = QuarantineOrder.objects.filter(pk=order.pk, status=ACTIVE).update(
            status=status, ended_at=timezone.now()
        )
        if not ended:
            raise ValidationError(NOT_ACTIVE)
        changes.orders_changed([order.pk], changes.ORDERS_ENDED)
        order.refresh_from_db()
        log(instance=order, action="wagtail.edit", user=user, data={"status": status, "note": note.strip()})
    return order
