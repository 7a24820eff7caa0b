"""Reads of the tracing registry for the admin, each narrowed to what the user may see.

One rule decides who sees a person (``persons_visible_to``): their home area lies in the
user's area; a person without a recorded home area is seen through an accepted submission
naming them whose area lies in the user's area. Alerts, orders and duplicates follow their
own area, or their person's visibility when they have none. Merged persons are hidden.
"""

from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from forms_engine import models as forms
from forms_engine.display import readable
from forms_engine.models import Submission
from places.folding import fold
from places.models import Area, Place
from places.selectors import area_scope, areas_visible_to

from .models import (
    Alert,
    Classification,
    Cluster,
    Contact,
    DuplicateCandidate,
    Person,
    PersonMerge,
    QuarantineCheckIn,
    QuarantineOrder,
    SubmissionPerson,
    TestRequest,
    f_degree,
)

# --- Scope ---------------------------------------------------------------------------------


def _area_in_scope(scope, field: str) -> Q:
    """``field`` (a path to an Area) lies under ``scope`` (an Area)."""
    return Q(**{f"{field}__path__startswith": scope.path})


def persons_in_scope(*, user, include_merged: bool = False) -> QuerySet[Person]:
    """Persons the user may see, merged ones too if asked (merge and undo need them)."""
    scope = area_scope(user=user)
    persons = Person.objects.all()
    if not include_merged:
        persons = persons.filter(merged_into__isnull=True)
    if scope is True:
        return persons
    if scope is None:
        return persons.none()
    named_here = SubmissionPerson.objects.filter(
        submission__status=Submission.STATUS_ACCEPTED, submission__area__path__startswith=scope.path
    ).values("person_id")
    return persons.filter(_area_in_scope(scope, "home_area") | Q(home_area__isnull=True, pk__in=named_here))


def persons_visible_to(user) -> QuerySet[Person]:
    """The one rule every screen uses: persons in the user's area, merged ones hidden."""
    return persons_in_scope(user=user)


def _person_or_own_area(user, area_field: str) -> Q | bool | None:
    scope = area_scope(user=user)
    if scope is True or scope is None:
        return scope
    visible = persons_visible_to(user).values("pk")
    return _area_in_scope(scope, area_field) | Q(**{f"{area_field}__isnull": True, "person__in": visible})


def _scoped(queryset: QuerySet, user, area_field: str) -> QuerySet:
    condition = _person_or_own_area(user, area_field)
    if condition is True:
        return queryset
    if condition is None:
        return queryset.none()
    return queryset.filter(condition)


def alerts_visible_to(user) -> QuerySet[Alert]:
    """Alerts of the user's area (or, without an area, of a person the user sees)."""
    return _scoped(Alert.objects.all(), user, "area")


def orders_visible_to(user) -> QuerySet[QuarantineOrder]:
    """Quarantine orders watched by the user's area (or of a person the user sees)."""
    return _scoped(QuarantineOrder.objects.all(), user, "area")


def duplicates_visible_to(user) -> QuerySet[DuplicateCandidate]:
    """Unresolved pairs both of whose persons the user sees (neither merged)."""
    visible = persons_visible_to(user).values("pk")
    return DuplicateCandidate.objects.filter(resolved_at__isnull=True, person__in=visible, other__in=visible)


def clusters_visible_to(user) -> QuerySet[Cluster]:
    scope = area_scope(user=user)
    if scope is True:
        return Cluster.objects.all()
    if scope is None:
        return Cluster.objects.none()
    return Cluster.objects.filter(_area_in_scope(scope, "place__area"))


# --- Search and filters --------------------------------------------------------------------


def phone_variants(text: str) -> list[str]:
    """A typed phone as stored (E.164): "0905 123 456" and "+84905123456" alike."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 6:
        return []
    if digits.startswith("84"):
        digits = digits[2:]
    return [digits.removeprefix("0")]


def person_search(queryset: QuerySet[Person], *, query: str) -> QuerySet[Person]:
    """Accent-insensitive by name ("nguyen van an" finds "Nguyễn Văn An"), by phone, by
    citizen ID (exact)."""
    text = query.strip()
    folded = fold(text)
    if not folded:
        return queryset
    condition = Q(name_folded__contains=folded) | Q(national_id=text)
    for digits in phone_variants(text):
        condition |= Q(phone__endswith=digits)
    return queryset.filter(condition)


def with_active_order(queryset: QuerySet[Person]) -> QuerySet[Person]:
    active = QuarantineOrder.objects.filter(person=OuterRef("pk"), status=QuarantineOrder.STATUS_ACTIVE)
    return queryset.annotate(in_quarantine=Exists(active))


# --- Occupancy and clusters -----------------------------------------------------------------


@dataclass
class Occupancy:
    place: Place
    active: int

    @property
    def free(self) -> int | None:
        return None if self.place.capacity is None else self.place.capacity - self.active

    @property
    def full(self) -> bool:
        return self.place.capacity is not None and self.active >= self.place.capacity


def occupancy_visible_to(user) -> list[Occupancy]:
    """Each quarantine facility in the user's area: active facility orders against capacity
    (tracing.quarantine.occupancy, one query for all)."""
    from .quarantine import occupancy

    facilities = list(
        Place.objects.filter(kind=Place.KIND_QUARANTINE_FACILITY, area__in=areas_visible_to(user=user))
        .select_related("area")
        .order_by("name")
    )
    counts = occupancy(facilities)
    return [Occupancy(place=place, active=counts.get(place.pk, {}).get("active", 0)) for place in facilities]


def clusters_counted(clusters) -> list[Cluster]:
    """``clusters`` each with ``counts`` (members, F0, F1, F2, suspected, in quarantine) from
    tracing.exposure.cluster_counts: one aggregate query for the page."""
    from .exposure import cluster_counts

    clusters = list(clusters)
    counts = cluster_counts([cluster.pk for cluster in clusters])
    for cluster in clusters:
        cluster.counts = counts.get(cluster.pk, {})
    return clusters


# --- The person page -----------------------------------------------------------------------


@dataclass
class Entry:
    """One line of a person's timeline."""

    at: datetime
    kind: str  # submission, level, contact, quarantine, checkin, test, alert, vaccination, merge
    title: str
    detail: str = ""
    url: str = ""


def _moment(value) -> datetime:
    """Dates and times on one axis (a date counts from its midnight)."""
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, date):
        return timezone.make_aware(datetime.combine(value, time.min))
    return timezone.now()


def person_timeline(person: Person, *, user) -> list[Entry]:
    """Everything recorded about ``person``, oldest first: a query per kind, none per row."""
    entries = [
        *_submission_entries(person),
        *_level_entries(person),
        *_contact_entries(person, user=user),
        *_quarantine_entries(person),
        *_test_entries(person),
        *_alert_entries(person),
        *(
            _merge_entry(merge, person)
            for merge in PersonMerge.objects.filter(Q(kept=person) | Q(absorbed=person))
        ),
    ]
    entries.sort(key=lambda entry: entry.at)
    return entries


def _submission_url(pk) -> str:
    from django.urls import reverse

    return reverse("submissions:inspect", args=[pk]) if pk else ""


def _submission_entries(person: Person):
    """The submissions naming the person; vaccinations with their vaccine and dose."""
    links = SubmissionPerson.objects.filter(person=person).select_related(
        "submission__form", "submission__version"
    )
    for link in links:
        submission = link.submission
        if submission.form.kind == forms.KIND_VACCINATION:
            yield _vaccination_entry(submission, _submission_url(submission.pk))
            continue
        yield Entry(
            at=submission.created_at,
            kind="submission",
            title=_("Submission: %(form)s") % {"form": submission.form.title},
            detail=f"{submission.form.get_kind_display()} · {submission.get_status_display()}",
            url=_submission_url(submission.pk),
        )


def _level_entries(person: Person):
    for change in Classification.objects.filter(person=person):
        yield Entry(
            at=change.created_at,
            kind="level",
            title=_("Level %(old)s → %(new)s")
            % {"old": change.get_level_from_display(), "new": change.get_level_display()},
            detail=change.note,
        )


def _contact_entries(person: Person, *, user):
    """Contacts both ways; one outside the user's area is shown without name or link."""
    contacts = list(
        Contact.objects.filter(Q(person=person) | Q(contact=person)).select_related("person", "contact")
    )
    others = {c.contact_id if c.person_id == person.pk else c.person_id for c in contacts}
    visible = set(persons_visible_to(user).filter(pk__in=others).values_list("pk", flat=True))
    for contact in contacts:
        named = contact.person_id == person.pk
        other = contact.contact if named else contact.person
        shown = other.pk in visible
        title = _("Named contact: %(name)s") if named else _("Named as a contact by: %(name)s")
        yield Entry(
            at=_moment(contact.exposure_date or contact.created_at),
            kind="contact",
            title=title % {"name": other.full_name if shown else _("a person outside your area")},
            detail=f"{contact.get_setting_display()} · {contact.get_found_by_display()}",
            url=_person_url(other.pk) if shown else "",
        )


def _quarantine_entries(person: Person):
    """Orders, then the daily check-ins made under them."""
    for order in QuarantineOrder.objects.filter(person=person).select_related("facility"):
        where = order.facility.name if order.facility else order.get_kind_display()
        yield Entry(
            at=_moment(order.start_date),
            kind="quarantine",
            title=_("Quarantine: %(where)s") % {"where": where},
            detail=f"{order.start_date} – {order.planned_end} · {order.get_status_display()}",
        )
    for check in QuarantineCheckIn.objects.filter(order__person=person):
        readings = (
            f"{check.temperature} °C" if check.temperature is not None else "",
            f"SpO2 {check.spo2}%" if check.spo2 is not None else "",
        )
        yield Entry(
            at=_moment(check.date),
            kind="checkin",
            title=_("Quarantine check-in"),
            detail=", ".join(part for part in readings if part),
            url=_submission_url(check.submission_id),
        )


def _test_entries(person: Person):
    for request in TestRequest.objects.filter(person=person):
        yield Entry(
            at=request.requested_at,
            kind="test",
            title=_("Test requested: %(reason)s") % {"reason": request.get_reason_display()},
            detail=request.get_status_display(),
            url=_submission_url(request.result_submission_id),
        )


def _alert_entries(person: Person):
    for alert in Alert.objects.filter(person=person):
        yield Entry(
            at=alert.created_at,
            kind="alert",
            title=_("Alert: %(kind)s") % {"kind": alert.get_kind_display()},
            detail=alert.message + (" · " + _("resolved") if alert.resolved_at else ""),
        )


def _person_url(pk) -> str:
    from django.urls import reverse

    return reverse("persons:inspect", args=[pk])


def _vaccination_entry(submission: Submission, url: str) -> Entry:
    """The vaccine and dose, read by role and shown with their choices' labels."""
    specs = {spec.get("role"): spec for spec in submission.version.schema if spec.get("role")}
    parts = []
    for role in ("vaccine", "dose"):
        spec = specs.get(role)
        if spec and spec["key"] in submission.data:
            parts.append(f"{spec['label']}: {readable(spec, submission.data[spec['key']], {})}")
    return Entry(
        at=submission.created_at,
        kind="vaccination",
        title=_("Vaccination: %(form)s") % {"form": submission.form.title},
        detail=" · ".join(parts),
        url=url,
    )


def _merge_entry(merge: PersonMerge, person: Person) -> Entry:
    if merge.undoes_id:
        title = _("A merge of persons was undone (record #%(id)s)") % {"id": merge.pk}
    elif merge.kept_id == person.pk:
        title = _("Merged a duplicate person into this one (record #%(id)s)") % {"id": merge.pk}
    else:
        title = _("Merged into another person (record #%(id)s)") % {"id": merge.pk}
    return Entry(at=merge.merged_at, kind="merge", title=title)


# --- The case chain ------------------------------------------------------------------------


@dataclass
class Node:
    id: int
    x: int
    y: int
    label: str
    level: str
    url: str
    is_self: bool


@dataclass
class Edge:
    x1: int
    y1: int
    x2: int
    y2: int

    @property
    def path(self) -> str:
        """A straight line between neighbouring columns; an arc over the columns between
        otherwise (so that it does not run through their circles)."""
        if abs(self.x2 - self.x1) <= COLUMN_WIDTH or self.y1 != self.y2:
            return f"M{self.x1} {self.y1} L{self.x2} {self.y2}"
        lift = min(ARC_LIFT, self.y1 - 4)
        return f"M{self.x1} {self.y1} Q{(self.x1 + self.x2) // 2} {self.y1 - 2 * lift} {self.x2} {self.y2}"


@dataclass
class ChainDrawing:
    width: int
    height: int
    nodes: list[Node]
    edges: list[Edge]
    columns: list[tuple[int, str]]  # (x, heading)
    truncated: bool = False


COLUMN_WIDTH = 130
ROW_HEIGHT = 56
MARGIN = 40
TOP = 70  # the column headings, and room for arcs over the first row
ARC_LIFT = 34  # how far an edge skipping columns rises above its row
MAX_ROWS = 40  # a column's persons beyond this are summarised, not drawn


def chain_drawing(person: Person, *, user, depth: int | None = None) -> ChainDrawing:
    """The chain (classify.chain, to the configured depth) laid out for a server-side SVG: a
    column per level (F0 → F1 → F2 …, then the others by distance), nodes outside the user's
    area without names or links."""
    from . import classify

    graph = classify.chain(person.pk, depth=depth)
    ids = {node["id"] for node in graph["nodes"]}
    visible = set(persons_visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
    distance = _distances(person.pk, graph["edges"])
    columns: dict[int, list[dict]] = {}
    for node in graph["nodes"]:
        degree = f_degree(node["level"] or "")
        column = degree if degree is not None else 100 + distance.get(node["id"], 99)
        columns.setdefault(column, []).append(node)
    ordered = sorted(columns)
    positions, nodes, headings = {}, [], []
    for index, column in enumerate(ordered):
        x = MARGIN + index * COLUMN_WIDTH
        headings.append((x, f"F{column}" if column < 100 else _("Other")))
        for row, node in enumerate(sorted(columns[column], key=lambda n: n["id"])[:MAX_ROWS]):
            y = TOP + row * ROW_HEIGHT
            positions[node["id"]] = (x, y)
            shown = node["id"] in visible
            nodes.append(
                Node(
                    id=node["id"],
                    x=x,
                    y=y,
                    label=_short(node["name"]) if shown else _("(outside your area)"),
                    level=node["level"] or "",
                    url=_person_url(node["id"]) if shown and node["id"] != person.pk else "",
                    is_self=node["id"] == person.pk,
                )
            )
    edges = [
        Edge(*positions[edge["source"]], *positions[edge["target"]])
        for edge in graph["edges"]
        if edge["source"] in positions and edge["target"] in positions
    ]
    rows = max((min(len(c), MAX_ROWS) for c in columns.values()), default=1)
    return ChainDrawing(
        width=2 * MARGIN + max(len(ordered) - 1, 0) * COLUMN_WIDTH + 40,
        height=TOP + rows * ROW_HEIGHT,
        nodes=nodes,
        edges=edges,
        columns=headings,
        truncated=bool(graph.get("truncated")),
    )


def _short(name: str) -> str:
    """The last two words of a Vietnamese name fit under a circle ("Văn An")."""
    words = name.split()
    return " ".join(words[-2:]) if len(words) > 2 else name


def _distances(start: int, edges: list[dict]) -> dict[int, int]:
    neighbours: dict[int, set[int]] = {}
    for edge in edges:
        neighbours.setdefault(edge["source"], set()).add(edge["target"])
        neighbours.setdefault(edge["target"], set()).add(edge["source"])
    distance = {start: 0}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for other in neighbours.get(current, ()):
            if other not in distance:
                distance[other] = distance[current] + 1
                queue.append(other)
    return distance


def area_choices_visible_to(user) -> QuerySet[Area]:
    return areas_visible_to(user=user).order_by("path")
