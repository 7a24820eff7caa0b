"""QR check-ins, co-location exposure around a new case, and workplace clusters.

A check-in is a person at a place at a time (a health declaration made by scanning the
place's QR code, a passage through a checkpoint). When a person becomes F0, everyone else
checked in at one of the case's places within the configured window of the case's visit is
a suspected contact: an edge of the contact graph found by co-location, a raised level, one
alert per person and a live notice to the tracing team of the person's area. Workers of an
industrial park's workshop named by tracing interviews are grouped as a cluster.

Every function is set-based (a batch's worth of rows in a few queries) and idempotent: a
job run twice finds the rows of the first run and adds nothing.
"""

import operator
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext

from places.folding import fold
from places.models import Place

from . import changes, classify, testing
from .models import (
    LEVEL_SUSPECTED,
    Alert,
    CheckIn,
    Cluster,
    ClusterMember,
    Contact,
    Person,
    QuarantineOrder,
    TestRequest,
    TracingSettings,
    f_level,
)
from .notify import alerts_publish_on_commit

EXPOSURE_NOTICE = "tracing.exposure"
SETTING_BY_PLACE_KIND = {
    Place.KIND_INDUSTRIAL_PARK: Contact.SETTING_INDUSTRIAL_PARK,
    Place.KIND_CHECKPOINT: Contact.SETTING_TRANSPORT,
}
WORKPLACE_SETTINGS = (Contact.SETTING_WORKPLACE, Contact.SETTING_INDUSTRIAL_PARK)


# --- check-ins ----------------------------------------------------------------------------


def checkins_record(items) -> None:
    """A CheckIn for each accepted submission (handlers.Accepted) with a person and a place.

    The place is the submission's (from the QR code scanned, else its place field). One
    check-in per submission (a one-to-one), so a job run again adds nothing.
    """
    checkins = [
        CheckIn(
            person=item.person,
            place_id=item.submission.place_id,
            at=checkin_time(item.submission),
            submission=item.submission,
        )
        for item in items
        if item.person is not None and item.submission.place_id is not None
    ]
    CheckIn.objects.bulk_create(checkins, ignore_conflicts=True)


def checkin_time(submission) -> datetime:
    """When the person was there: the device's time of filling in (a phone offline at a
    checkpoint sends hours later), but never after the server received it (a wrong clock)."""
    filled = submission.client_created_at
    return min(filled, submission.created_at) if filled else submission.created_at


# --- co-location exposure -----------------------------------------------------------------


@dataclass(frozen=True)
class Exposure:
    """Another person's check-in near one of the case's."""

    person_id: int
    place_id: int
    at: datetime
    submission_id: int


@transaction.atomic
def colocation_expose(case_id: int, *, job: str = "") -> list[int]:
    """Persons checked in at the case's places within the window: suspected, notified.

    The case's check-ins of the last ``colocation_days`` before its confirmation count; anyone
    else checked in at the same place within ``colocation_window_minutes`` of one of them is
    exposed. Returns the exposed persons' ids (the same on a second run, which adds nothing).
    """
    rules = TracingSettings.load()
    window = timedelta(minutes=rules.colocation_window_minutes)
    visits = case_visits(case_id, days=rules.colocation_days)
    exposures = colocated(case_id, visits, window=window)
    if not exposures:
        return []
    places = Place.objects.in_bulk({e.place_id for e in exposures})
    exposed = sorted({e.person_id for e in exposures})
    contacts_record(case_id, exposures, places)
    suspected = classify.levels_raise(
        dict.fromkeys(exposed, LEVEL_SUSPECTED),
        case_id=case_id,
        job=job,
        note=gettext("Checked in where a confirmed case was, within %(minutes)d minutes.")
        % {"minutes": rules.colocation_window_minutes},
    )
    # A test for those now suspected (an F1 exposed here again has its own request already).
    testing.requests_open(sorted(suspected or ()), TestRequest.REASON_EXPOSURE, job=job)
    new_alerts = alerts_record(case_id, first_exposures(exposures), places)
    alerts_publish_on_commit(new_alerts, event_type=EXPOSURE_NOTICE)
    return exposed


def colocation_expose_event(event) -> dict:
    """The ``case.confirmed`` handler's work (tracing/handlers.py: case_colocate)."""
    return {"exposed": len(colocation_expose(event.payload["person"], job=event.key))}


def confirmed_at(case_id: int) -> datetime:
    """When the case became F0 (the look-back ends there), or now if that is not recorded."""
    case = Person.objects.filter(pk=case_id).values("level", "level_at").first()
    if case and case["level"] == f_level(0) and case["level_at"]:
        return case["level_at"]
    return timezone.now()


def case_visits(case_id: int, *, days: int) -> list[tuple[int, datetime]]:
    """(place id, time) of the case's check-ins in the look-back before its confirmation."""
    until = confirmed_at(case_id)
    return list(
        CheckIn.objects.filter(person_id=case_id, at__gte=until - timedelta(days=days), at__lte=until)
        .values_list("place_id", "at")
        .distinct()
    )


def colocated(case_id: int, visits: list[tuple[int, datetime]], *, window: timedelta) -> list[Exposure]:
    """Others' check-ins at a visited place within ``window`` of the visit, earliest first.

    One query: an OR of (place, time range), each served by the (place, at) index; a case
    seen at the same place again and again gives one range, not one per check-in. Persons
    merged into another are left out (their check-ins were moved to the one kept).
    """
    ranges = visit_ranges(visits, window=window)
    if not ranges:
        return []
    near = reduce(
        operator.or_, (Q(place_id=place, at__gte=start, at__lte=end) for place, start, end in ranges)
    )
    rows = (
        CheckIn.objects.filter(near, person__merged_into__isnull=True)
        .exclude(person_id=case_id)
        .order_by("at", "pk")
        .values_list("person_id", "place_id", "at", "submission_id")
    )
    return [Exposure(*row) for row in rows]


def visit_ranges(
    visits: list[tuple[int, datetime]], *, window: timedelta
) -> list[tuple[int, datetime, datetime]]:
    """(place, start, end) of each visit widened by ``window``, overlapping ones of a place joined."""
    ranges = []
    for place, at in sorted(visits):
        start, end = at - window, at + window
        if ranges and ranges[-1][0] == place and start <= ranges[-1][2]:
            ranges[-1] = (place, ranges[-1][1], max(end, ranges[-1][2]))
        else:
            ranges.append((place, start, end))
    return ranges


def first_exposures(exposures: list[Exposure]) -> list[Exposure]:
    """Each person's earliest exposure (``exposures`` come earliest first): one alert each."""
    first = {}
    for exposure in exposures:
        first.setdefault(exposure.person_id, exposure)
    return list(first.values())


def contact_setting(place: Place) -> str:
    return SETTING_BY_PLACE_KIND.get(place.kind, Contact.SETTING_VENUE)


def contacts_record(case_id: int, exposures: list[Exposure], places: dict[int, Place]) -> None:
    """Edges case → exposed person, found by co-location; one per person and setting (the
    earliest exposure wins; a second run conflicts and adds nothing)."""
    edges = {}
    for exposure in exposures:
        place = places[exposure.place_id]
        edge = Contact(
            person_id=case_id,
            contact_id=exposure.person_id,
            found_by=Contact.FOUND_COLOCATION,
            setting=contact_setting(place),
            place=place,
            exposure_date=timezone.localdate(exposure.at),
        )
        edges.setdefault((exposure.person_id, edge.setting), edge)
    Contact.objects.bulk_create(edges.values(), ignore_conflicts=True)


def exposure_message(place: Place, at: datetime) -> str:
    local = timezone.localtime(at)
    message = gettext("Checked in at %(place)s at %(time)s, near the time a confirmed case was there.") % {
        "place": place.name,
        "time": local.strftime("%H:%M %d/%m/%Y"),
    }
    return message[: Alert._meta.get_field("message").max_length]


def alerts_record(case_id: int, exposures: list[Exposure], places: dict[int, Place]) -> list[tuple[int, int]]:
    """One exposure alert per person and case, in the person's home area (else the place's).
    Returns (alert id, area id) of the alerts this call added: the ones to tell the team of."""
    keys = {exposure.person_id: f"exposure:{case_id}:{exposure.person_id}" for exposure in exposures}
    existing = set(Alert.objects.filter(key__in=keys.values()).values_list("key", flat=True))
    home_areas = dict(Person.objects.filter(pk__in=list(keys)).values_list("pk", "home_area_id"))
    alerts = [
        Alert(
            key=keys[exposure.person_id],
            kind=Alert.KIND_EXPOSURE,
            person_id=exposure.person_id,
            area_id=home_areas.get(exposure.person_id) or places[exposure.place_id].area_id,
            submission_id=exposure.submission_id,
            message=exposure_message(places[exposure.place_id], exposure.at),
        )
        for exposure in exposures
        if keys[exposure.person_id] not in existing
    ]
    if not alerts:
        return []
    Alert.objects.bulk_create(alerts, ignore_conflicts=True)  # ids are not returned on conflicts
    new = list(Alert.objects.filter(key__in=[a.key for a in alerts]).values_list("pk", "area_id"))
    changes.alerts_raised([pk for pk, _area in new])
    return new


# --- workplaces and clusters --------------------------------------------------------------


@dataclass
class Workplace:
    """One interview's case at its workplace and workshop (as written and folded)."""

    submission_id: int
    case_id: int
    place: Place
    workshop: str

    @property
    def cluster_key(self) -> tuple[int, str]:
        return (self.place.pk, fold(self.workshop))


@transaction.atomic
def workplaces_record(items) -> None:
    """Cases of accepted interviews joined to their industrial park / workshop cluster.

    The case's workplace is recorded if it had none; the cluster of (place, workshop) is
    found or made (its first case the earliest interview's); the case and the contacts the
    interview named at work (edges recorded by classify.interviews_record, which runs first)
    become members. Idempotent: clusters and members are unique.
    """
    workplaces = interview_workplaces(items)
    if not workplaces:
        return
    persons_workplace_fill(workplaces)
    clusters = clusters_ensure(workplaces)
    members_add(workplaces, clusters)


def interview_workplaces(items) -> list[Workplace]:
    """The batch's interviews that name a case and a known workplace, earliest first."""
    codes = {str(item.value("workplace") or "").strip().upper() for item in items} - {""}
    places = {place.code: place for place in Place.objects.filter(code__in=codes)}
    found = []
    for item in sorted(items, key=lambda i: (i.submission.created_at, i.submission.pk)):
        place = places.get(str(item.value("workplace") or "").strip().upper())
        if item.person is None or place is None or not classify.of_a_case(item):
            continue
        workshop = " ".join(str(item.value("workshop") or "").split())
        found.append(Workplace(item.submission.pk, item.person.pk, place, workshop))
    return found


def persons_workplace_fill(workplaces: list[Workplace]) -> None:
    """Each case's workplace, where none is recorded yet (one UPDATE per place)."""
    cases_by_place = defaultdict(set)
    for workplace in workplaces:
        cases_by_place[workplace.place.pk].add(workplace.case_id)
    for place_id, case_ids in cases_by_place.items():
        Person.objects.filter(pk__in=case_ids, workplace__isnull=True).update(
            workplace_id=place_id, updated_at=timezone.now()
        )


def cluster_name(place: Place, workshop: str) -> str:
    name = f"{place.name} — {workshop}" if workshop else place.name
    return name[: Cluster._meta.get_field("name").max_length]


def clusters_of(keys) -> dict[tuple[int, str], Cluster]:
    match = reduce(operator.or_, (Q(place_id=place, workshop_folded=folded) for place, folded in keys))
    return {(c.place_id, c.workshop_folded): c for c in Cluster.objects.filter(match)}


def clusters_ensure(workplaces: list[Workplace]) -> dict[tuple[int, str], Cluster]:
    """The cluster of each (place, folded workshop), made for those that have none."""
    first = {}
    for workplace in workplaces:
        first.setdefault(workplace.cluster_key, workplace)
    existing = clusters_of(first)
    new = [
        Cluster(
            name=cluster_name(w.place, w.workshop),
            place=w.place,
            workshop=w.workshop,
            workshop_folded=key[1],
            first_case_id=w.case_id,
        )
        for key, w in first.items()
        if key not in existing
    ]
    if not new:
        return existing
    Cluster.objects.bulk_create(new, ignore_conflicts=True)
    return clusters_of(first)


def members_add(workplaces: list[Workplace], clusters: dict[tuple[int, str], Cluster]) -> None:
    """The cases, and the contacts each interview named at work, as members of its cluster."""
    cluster_of_submission = {w.submission_id: clusters[w.cluster_key] for w in workplaces}
    pairs = {(cluster_of_submission[w.submission_id].pk, w.case_id) for w in workplaces}
    colleagues = Contact.objects.filter(
        source_submission_id__in=list(cluster_of_submission), setting__in=WORKPLACE_SETTINGS
    ).values_list("source_submission_id", "contact_id")
    pairs |= {(cluster_of_submission[submission].pk, contact) for submission, contact in colleagues}
    ClusterMember.objects.bulk_create(
        [ClusterMember(cluster_id=cluster, person_id=person) for cluster, person in sorted(pairs)],
        ignore_conflicts=True,
    )


def cluster_counts(cluster_ids=None) -> dict[int, dict[str, int]]:
    """{cluster id: members, F0, F1, F2, suspected, in quarantine}, in one aggregate query.

    Members merged into another person are not counted twice. With ``cluster_ids``, each of
    them is in the answer (zeros for a cluster without members).
    """
    cluster_ids = None if cluster_ids is None else list(cluster_ids)
    members = ClusterMember.objects.filter(person__merged_into__isnull=True)
    if cluster_ids is not None:
        members = members.filter(cluster_id__in=cluster_ids)
    quarantined = QuarantineOrder.objects.filter(
        person_id=OuterRef("person_id"), status=QuarantineOrder.STATUS_ACTIVE
    )
    levels = {f_level(n): Count("pk", filter=Q(person__level=f_level(n))) for n in range(3)}
    rows = members.values("cluster_id").annotate(
        members=Count("pk"),
        **levels,
        suspected=Count("pk", filter=Q(person__level=LEVEL_SUSPECTED)),
        in_quarantine=Count("pk", filter=Q(Exists(quarantined))),
    )
    zero = dict.fromkeys(["members", *levels, "suspected", "in_quarantine"], 0)
    counts = {pk: dict(zero) for pk in (cluster_ids or ())}
    for row in rows:
        counts[row.pop("cluster_id")] = row
    return counts
