"""Levels (F0, F1, F2…, suspected, cleared, recovered, deceased), their history, the contact
graph from tracing interviews, and a new case's expansion to its contacts.

Levels are ordered: not classified and cleared < suspected < F5 < … < F1 < F0. Jobs only
raise a level (``levels_raise``); staff lower one explicitly (``level_set``). Recovered and
deceased are left to staff: no job touches them. Every change writes one Classification
row in the same transaction, so running a job twice changes nothing the second time.

The contact graph is read both ways (who named whom does not matter for exposure): the walk
goes frontier by frontier with a couple of indexed queries per level, never one per person.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from places.models import Place
from workflows import outbox

from . import changes
from .models import (
    LEVEL_CHOICES,
    LEVEL_CLEARED,
    LEVEL_DECEASED,
    LEVEL_NONE,
    LEVEL_RECOVERED,
    LEVEL_SUSPECTED,
    MAX_DEGREE,
    Classification,
    Contact,
    Person,
    TestRequest,
    TracingSettings,
    f_degree,
    f_level,
)
from .resolve import Named, named_link, person_details

CASE_CONFIRMED = "case.confirmed"
# The ``interview_subject`` role's value for an interview of a contact (docs/forms.md).
INTERVIEW_OF_CONTACT = "contact"

F0 = f_level(0)
KNOWN_LEVELS = frozenset(code for code, _label in LEVEL_CHOICES)
# Staff decide these; a job's raise never overrides them.
FROZEN_LEVELS = frozenset({LEVEL_RECOVERED, LEVEL_DECEASED})
SETTINGS = frozenset(code for code, _label in Contact.SETTING_CHOICES)
# Exposures at work are recorded with the case's workplace as their place.
WORK_SETTINGS = frozenset({Contact.SETTING_WORKPLACE, Contact.SETTING_INDUSTRIAL_PARK})
CHAIN_MAX_NODES = 2000  # a chain larger than this is cut after the level that reached it

UNKNOWN_LEVEL = _("Unknown level: %(level)s.")
NOT_RAISABLE = _("A job cannot raise a person to %(level)s; staff set it on the person's page.")
MERGED_PERSON = _("This person was merged into another; change the kept person instead.")


class LevelError(ValidationError, ValueError):
    """A level that does not exist, or cannot be reached the way it was asked for."""


# --- levels ------------------------------------------------------------------------------


def level_rank(level: str) -> int:
    """Where ``level`` stands in the order jobs raise along (higher is more serious)."""
    if level in (LEVEL_NONE, LEVEL_CLEARED):
        return 0
    if level == LEVEL_SUSPECTED:
        return 1
    degree = f_degree(level)
    if degree is not None and degree <= MAX_DEGREE:
        return 2 + MAX_DEGREE - degree
    raise LevelError(UNKNOWN_LEVEL, code="unknown_level", params={"level": level})


def raises(current: str, new: str) -> bool:
    """Whether a job may move a person from ``current`` to ``new``."""
    return current not in FROZEN_LEVELS and current in KNOWN_LEVELS and level_rank(new) > level_rank(current)


def raisable_check(levels) -> None:
    for level in set(levels):
        if level in FROZEN_LEVELS:
            raise LevelError(NOT_RAISABLE, code="not_raisable", params={"level": level})
        level_rank(level)


class Raised(NamedTuple):
    """One change a raise made: its history row's id, the person, from and to."""

    id: int
    person_id: int
    level_from: str
    level: str


def classifications_raise(
    levels: dict[int, str], *, case_id=None, submission=None, user=None, job="", note=""
) -> list[Raised]:
    """``levels_raise`` returning the changes with their history rows' ids (they name events)."""
    raisable_check(levels.values())
    if not levels:
        return []
    history = history_of(case_id=case_id, submission=submission, user=user, job=job, note=note)
    # A failure undoes the caller's whole job: no savepoint needed.
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            raised = raise_in_one_statement(levels, history)
        else:
            raised = raise_with_orm(levels, history)
        changes.classified([change.id for change in raised])
    return raised


def history_of(*, case_id=None, submission=None, user=None, job="", note="") -> dict:
    """What a raise's history rows say of it (RAISE_SQL's parameters)."""
    return {
        "case": case_id,
        "submission": submission.pk if submission else None,
        "user": user.pk if user else None,
        "job": job[:160],
        "note": note[:300],
        "at": timezone.now(),
    }


def raise_with_orm(levels: dict[int, str], history: dict) -> list[Raised]:
    """Lock and read the current levels, one UPDATE, one INSERT of history rows."""
    current = (
        Person.objects.select_for_update()  # a concurrent job must not lower what we raise
        .filter(pk__in=levels, merged_into=None)
        .order_by("pk")  # rows locked in one order: two jobs cannot deadlock on them
        .values_list("pk", "level")
    )
    changes = [(pk, level, levels[pk]) for pk, level in current if raises(level, levels[pk])]
    if not changes:
        return []
    by_level = defaultdict(list)
    for pk, _from, new in changes:
        by_level[new].append(pk)
    at = history["at"]
    Person.objects.filter(pk__in=[pk for pk, _from, _new in changes]).update(
        level=Case(*(When(pk__in=ids, then=Value(new)) for new, ids in by_level.items())),
        level_at=at,
        updated_at=at,
    )
    rows = Classification.objects.bulk_create(
        Classification(
            person_id=pk,
            level_from=old,
            level=new,
            case_id=history["case"],
            source_submission_id=history["submission"],
            changed_by_id=history["user"],
            job=history["job"],
            note=history["note"],
            created_at=at,
        )
        for pk, old, new in changes
    )
    return [Raised(row_id(row), row.person_id, row.level_from, row.level) for row in rows]


# The same three steps as raise_with_orm in one round trip; ranks come from level_rank. The
# levels wanted come first: as a list (RAISE_WANTED_SQL) or from the walk (WALK_SQL).
RAISE_SQL = """
WITH {wanted}, locked AS (
    SELECT p.id, p.level FROM {person} p JOIN wanted w ON w.id = p.id
    WHERE p.merged_into_id IS NULL ORDER BY p.id FOR UPDATE OF p
), changed AS (
    UPDATE {person} p SET level = w.level, level_at = %(at)s, updated_at = %(at)s
    FROM locked l JOIN wanted w ON w.id = l.id
    WHERE p.id = l.id AND w.rank > (%(order_ranks)s::int[])[array_position(%(order)s::varchar[], l.level)]
    RETURNING p.id, l.level AS level_from, p.level
)
INSERT INTO {history}
    (person_id, level_from, level, case_id, source_submission_id, changed_by_id, job, note, created_at)
SELECT id, level_from, level, %(case)s, %(submission)s, %(user)s, %(job)s, %(note)s, %(at)s FROM changed
ORDER BY id
RETURNING id, person_id, level_from, level
"""

RAISE_WANTED_SQL = """wanted AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(levels)s::varchar[], %(ranks)s::int[]) AS w (id, level, rank)
)"""

# One frontier of the walk: everyone linked to the one before by a close-contact edge either
# way, less those seen nearer (the UNION and the EXCEPT apply left to right).
WALK_STEP_SQL = """d{n} AS (
    SELECT c.contact_id AS id FROM {contact} c JOIN d{previous} f ON f.id = c.person_id
    WHERE c.found_by <> %(not_walked)s
    UNION
    SELECT c.person_id FROM {contact} c JOIN d{previous} f ON f.id = c.contact_id
    WHERE c.found_by <> %(not_walked)s
    EXCEPT ({seen})
)"""

# Levels a job may raise from, with their ranks; a level not here (recovered…) is never raised.
RAISABLE_FROM = [LEVEL_NONE, LEVEL_CLEARED, LEVEL_SUSPECTED, *(f_level(n) for n in range(MAX_DEGREE + 1))]


def raise_params(history: dict) -> dict:
    return {**history, "order": RAISABLE_FROM, "order_ranks": [level_rank(level) for level in RAISABLE_FROM]}


def raise_sql(wanted: str) -> str:
    return RAISE_SQL.format(
        wanted=wanted, person=Person._meta.db_table, history=Classification._meta.db_table
    )


def raise_in_one_statement(levels: dict[int, str], history: dict) -> list[Raised]:
    """PostgreSQL: lock, compare, update and write history in one statement (the benchmark's
    hot path: a new case's hundred contacts in one round trip)."""
    params = {
        **raise_params(history),
        "ids": list(levels),
        "levels": list(levels.values()),
        "ranks": [level_rank(level) for level in levels.values()],
    }
    with connection.cursor() as cursor:
        cursor.execute(raise_sql(RAISE_WANTED_SQL), params)
        return [Raised(*row) for row in cursor.fetchall()]


def walk_sql(steps: int) -> str:
    """The CTEs d0 (the start) … d<steps> (the frontier at that distance) and ``wanted``: each
    frontier with the level it is raised to (%(level<n>)s, %(rank<n>)s)."""
    contact = Contact._meta.db_table
    parts = ["d0 AS (SELECT %(start)s::bigint AS id)"]
    for n in range(1, steps + 1):
        seen = " UNION ALL ".join(f"SELECT id FROM d{m}" for m in range(n))  # noqa: S608 - no input
        parts.append(WALK_STEP_SQL.format(n=n, previous=n - 1, contact=contact, seen=seen))
    frontiers = " UNION ALL ".join(
        f"SELECT id, %(level{n})s::varchar AS level, %(rank{n})s::int AS rank FROM d{n}"  # noqa: S608
        for n in range(1, steps + 1)
    )
    return ",\n".join([*parts, f"wanted AS ({frontiers})"])


def walk_and_raise(person_id: int, *, degree: int, depth: int, case_id=None, job: str = "") -> dict[int, str]:
    """PostgreSQL: the walk from ``person_id`` (an F<degree>) to F<depth> and the raise of
    everyone it reaches, with the history rows and their event, in one statement: a new case's
    contacts and theirs cost one round trip, whatever their number. {person id: new level}."""
    steps = depth - degree
    params = {
        **raise_params(history_of(case_id=case_id, job=job)),
        "start": person_id,
        "not_walked": Contact.FOUND_COLOCATION,
    }
    for n in range(1, steps + 1):
        params[f"level{n}"] = f_level(degree + n)
        params[f"rank{n}"] = level_rank(f_level(degree + n))
    with connection.cursor() as cursor:
        cursor.execute(raise_sql(walk_sql(steps)), params)
        raised = [Raised(*row) for row in cursor.fetchall()]
    changes.classified([change.id for change in raised])
    return {change.person_id: change.level for change in raised}


def walk_then_raise(
    person_id: int, *, degree: int, depth: int, case_id=None, job: str = ""
) -> dict[int, str]:
    """``walk_and_raise`` on other databases: the walk a query per level, then ``levels_raise``."""
    distances = distances_from(person_id, depth - degree)
    wanted = {pk: f_level(degree + d) for pk, d in distances.items() if d > 0}
    return levels_raise(wanted, case_id=case_id, job=job)


def levels_raise(
    levels: dict[int, str], *, case_id=None, submission=None, user=None, job="", note=""
) -> dict[int, str]:
    """Raise persons (id → level) whose current level is lower; never lower one. One history
    row (Classification) per change. Returns {person id: new level} for those changed."""
    changes = classifications_raise(
        levels, case_id=case_id, submission=submission, user=user, job=job, note=note
    )
    return {change.person_id: change.level for change in changes}


@transaction.atomic
def level_set(person, level: str, *, user, note: str = "") -> Classification | None:
    """An explicit change by staff (clearance, recovered, deceased): may lower a level.

    Returns the history row, or None when the person already had that level.
    """
    if level not in KNOWN_LEVELS:
        raise LevelError(UNKNOWN_LEVEL, code="unknown_level", params={"level": level})
    locked = Person.objects.select_for_update().get(pk=person.pk)
    if locked.merged_into_id:
        raise LevelError(MERGED_PERSON, code="merged")
    if locked.level == level:
        return None
    now = timezone.now()
    Person.objects.filter(pk=person.pk).update(level=level, level_at=now, updated_at=now)
    person.level, person.level_at = level, now
    row = Classification.objects.create(
        person=person, level_from=locked.level, level=level, changed_by=user, note=note[:300], created_at=now
    )
    changes.classified([row.pk])
    return row


def case_confirm(person, *, submission=None, user=None, job: str = "") -> bool:
    """Make ``person`` F0; if that is new, record a CASE_CONFIRMED event in this transaction."""
    with transaction.atomic():
        changes = classifications_raise(
            {person.pk: F0}, case_id=person.pk, submission=submission, user=user, job=job
        )
        if not changes:
            return False
        [change] = changes
        person.level = change.level
        outbox.event_record(
            kind=CASE_CONFIRMED,
            key=f"{CASE_CONFIRMED}:{person.pk}:{change.id}",
            payload={"person": person.pk, "submission": submission.pk if submission else None},
        )
    return True


def row_id(row: Classification) -> int:
    """The id of a row bulk_create wrote (a backend that returns none: read it back)."""
    if row.pk is not None:
        return row.pk
    return (
        Classification.objects.filter(person_id=row.person_id, level=row.level, created_at=row.created_at)
        .values_list("pk", flat=True)
        .latest("pk")
    )


# --- expansion ---------------------------------------------------------------------------


def expansion_depth(depth: int | None = None) -> int:
    """``depth``, or the province's setting, within what levels can express."""
    if depth is None:
        depth = TracingSettings.load().expansion_depth
    return max(0, min(int(depth), MAX_DEGREE))


def neighbours(ids: set[int]) -> set[int]:
    """Everyone linked to ``ids`` by a close-contact edge either way: one query on the two
    indexes. Co-location edges (a QR check-in near a case) make a person suspected, not F1:
    they are not walked (exposure.py)."""
    edges = Contact.objects.exclude(found_by=Contact.FOUND_COLOCATION)
    named = edges.filter(person_id__in=ids).values_list("contact_id", flat=True)
    named_by = edges.filter(contact_id__in=ids).values_list("person_id", flat=True)
    return set(named.union(named_by))


def distances_from(person_id: int, depth: int) -> dict[int, int]:
    """{person id: shortest number of edges from ``person_id``} up to ``depth`` (BFS by levels)."""
    seen = {person_id: 0}
    frontier = {person_id}
    for distance in range(1, depth + 1):
        if not frontier:
            break
        frontier = neighbours(frontier) - seen.keys()
        seen.update(dict.fromkeys(frontier, distance))
    return seen


@transaction.atomic(savepoint=False)
@outbox.events_batched()  # the levels' event and the orders' in one INSERT
def contacts_classify(person_id: int, *, degree: int, depth: int, case_id=None, job: str = "") -> dict:
    """The contacts of an F<degree> person, and theirs, classified to F<depth>: distance d
    becomes F<degree + d> where that raises the level; orders and tests for those new."""
    walk = walk_and_raise if connection.vendor == "postgresql" else walk_then_raise
    changed = walk(person_id, degree=degree, depth=depth, case_id=case_id, job=job) if depth > degree else {}
    new = {f_level(n): [] for n in range(degree + 1, depth + 1)}
    for pk, level in sorted(changed.items()):
        new[level].append(pk)
    follow_ups_open(new, case_id=case_id, job=job)
    return new


def follow_ups_open(new: dict[str, list[int]], *, case_id, job: str) -> None:
    """Quarantine orders by each level's rule; a test for every new F1."""
    from . import quarantine, testing  # here: they may import this module at their top

    if not any(new.values()):
        return
    quarantine.orders_for_levels(new, case_id=case_id, job=job)
    if new.get(f_level(1)):
        testing.requests_open(new[f_level(1)], TestRequest.REASON_F1, job=job)


def case_expand(case_id: int, *, depth: int | None = None, job: str = "") -> dict[str, list[int]]:
    """Classify the case's contacts to ``depth`` (TracingSettings.expansion_depth): distance d
    becomes F<d> where that raises the level. Set-based. Returns {"F1": [ids newly F1], ...}."""
    return contacts_classify(case_id, degree=0, depth=expansion_depth(depth), case_id=case_id, job=job)


def case_expand_event(event) -> dict:
    """The case.confirmed handler's work: how many became each level."""
    new = case_expand(event.payload["person"], job=event.key)
    return {level: len(ids) for level, ids in new.items()}


# --- tracing interviews ------------------------------------------------------------------


@dataclass
class NamedContact:
    """One row of an interview's contacts repeat, read by role."""

    item: object  # handlers.Accepted
    path: str  # "contacts.3": where it sits in the submission, as SubmissionPerson records it
    person: dict  # a person field's value: full_name, phone, birth_year…
    area_code: str
    setting: str
    exposure_date: date | None


def contact_keys(fields: list[dict]) -> dict[str, str]:
    """Which sub-field of the contacts repeat holds what: by role, else by type or key."""
    keys = {}
    for spec in fields:
        role, key, kind = spec.get("role"), spec.get("key"), spec.get("type")
        if role in ("setting", "exposure_date", "area", "relationship"):
            keys[role] = key
        elif kind in ("person", "phone", "national_id"):
            keys.setdefault(kind, key)
        elif key in ("full_name", "birth_year", "birth_date", "sex"):
            keys.setdefault(key, key)
    return keys


def iso_date(value) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def contact_read(item, path: str, row: dict, keys: dict) -> NamedContact | None:
    def get(name):
        return row.get(keys[name]) if name in keys else None

    person = dict(get("person") or {})  # a person sub-field, else loose name/phone/year fields
    for name in ("full_name", "birth_year", "birth_date", "sex", "phone", "national_id"):
        if get(name) and not person.get(name):
            person[name] = get(name)
    if not str(person.get("full_name") or "").strip():
        return None
    if person.get("birth_year"):
        person["birth_year"] = int(person["birth_year"])
    setting = get("setting")
    return NamedContact(
        item=item,
        path=path,
        person=person,
        area_code=str(get("area") or person.get("home_area") or ""),
        setting=setting if setting in SETTINGS else Contact.SETTING_OTHER,
        exposure_date=iso_date(get("exposure_date")),
    )


def interview_contacts(item) -> list[NamedContact]:
    """The contacts an interview names, each with its place in the submission."""
    key = item.role_key("contacts")
    spec = next((s for s in item.submission.version.schema if s.get("key") == key), None)
    if spec is None:
        return []
    keys = contact_keys(spec.get("fields", []))
    rows = item.submission.data.get(key) or []
    found = (
        contact_read(item, f"{key}.{i}", row, keys) for i, row in enumerate(rows) if isinstance(row, dict)
    )
    return [named for named in found if named is not None]


def contacts_resolve(named: list[NamedContact]) -> dict[tuple[int, str], Person]:
    """{(submission id, path): person} for the named contacts, all at once with the registry's
    batch rules (resolve.named_link): a contact keeps the person it was first linked to
    however often the job runs."""
    pending = [Named(n.item.submission, n.path, person_details(n.person), n.area_code or None) for n in named]
    return {(p.submission.pk, p.path): p.person for p in named_link(pending)}


def edges_record(named: list[NamedContact], persons: dict) -> None:
    """A Contact edge from each interview's case to each contact it named (once)."""
    places = Place.objects.in_bulk(
        {n.item.value("workplace") for n in named if n.item.value("workplace")}, field_name="code"
    )
    edges = []
    for n in named:
        case, contact = n.item.person, persons[(n.item.submission.pk, n.path)]
        if contact.pk == case.pk or contact.merged_into_id:
            continue
        place = places.get(n.item.value("workplace")) if n.setting in WORK_SETTINGS else None
        edges.append(
            Contact(
                person=case,
                contact=contact,
                found_by=Contact.FOUND_INTERVIEW,
                setting=n.setting,
                exposure_date=n.exposure_date,
                place=place,
                source_submission=n.item.submission,
            )
        )
    Contact.objects.bulk_create(edges, ignore_conflicts=True)


def interviews_record(items) -> None:
    """Accepted tracing interviews (handlers.Accepted): contacts resolved to persons, edges
    recorded; if the case is F-something its new contacts are classified in turn."""
    items = [item for item in items if item.person is not None]
    if not items:
        return
    with transaction.atomic():
        named = [contact for item in items for contact in interview_contacts(item)]
        edges_record(named, contacts_resolve(named))
        interviewed_classify(items)


def of_a_case(item) -> bool:
    """Whether an interview is of a case (the default) rather than of a contact (an F1 asked
    for their own contacts): its ``interview_subject`` role."""
    return item.value("interview_subject") != INTERVIEW_OF_CONTACT


def interviewed_classify(items) -> None:
    """An accepted interview of a case confirms it: the case.confirmed event then expands it.
    An interviewee who already had an F level (a contact interviewed, or a case confirmed
    before) is expanded from it now, so that the contacts this interview added are
    classified too (monotonic: what was classified stays)."""
    first_item = {}
    for item in items:
        first_item.setdefault(item.person.pk, item)
    confirmed = {
        pk
        for pk, item in first_item.items()
        if of_a_case(item) and case_confirm(item.person, submission=item.submission, job=item.job)
    }
    already = Person.objects.filter(pk__in=first_item.keys() - confirmed).values_list("pk", "level")
    depth = expansion_depth()
    for pk, level in already:
        degree = f_degree(level)
        if degree is not None and degree < depth:
            case_id = pk if degree == 0 else origin_case(pk, level)
            contacts_classify(pk, degree=degree, depth=depth, case_id=case_id, job=first_item[pk].job)


def origin_case(person_id: int, level: str) -> int | None:
    """The F0 whose expansion gave ``person_id`` its level (its latest history row says)."""
    return (
        Classification.objects.filter(person_id=person_id, level=level)
        .values_list("case_id", flat=True)
        .first()
    )


# --- the chain ---------------------------------------------------------------------------


EDGE_FIELDS = ("pk", "person_id", "contact_id", "setting", "exposure_date", "found_by")


def chain_walk(case_id: int, depth: int, max_nodes: int) -> tuple[dict[int, int], dict[int, dict], bool]:
    """(distances, edges by id, cut short) of the graph around the case, level by level."""
    distances = {case_id: 0}
    edges = {}
    frontier = {case_id}
    for distance in range(1, depth + 1):
        if not frontier:
            break
        if len(distances) >= max_nodes:
            return distances, edges, True
        rows = Contact.objects.filter(Q(person_id__in=frontier) | Q(contact_id__in=frontier)).values(
            *EDGE_FIELDS
        )
        frontier = set()
        for row in rows:
            edges[row["pk"]] = row
            for pk in (row["person_id"], row["contact_id"]):
                if pk not in distances:
                    distances[pk] = distance
                    frontier.add(pk)
    return distances, edges, False


def chain(case_id: int, *, depth: int | None = None, max_nodes: int = CHAIN_MAX_NODES) -> dict:
    """{"case", "nodes": [...], "edges": [...], "truncated"} of the case's contact graph to
    ``depth``. Nodes carry the person's name and home area: callers showing them to a user
    redact those outside the user's scope (api.py)."""
    distances, edges, truncated = chain_walk(case_id, expansion_depth(depth), max_nodes)
    persons = Person.objects.filter(pk__in=distances).select_related("home_area")
    nodes = [
        {
            "id": p.pk,
            "level": p.level,
            "distance": distances[p.pk],
            "name": p.full_name,
            "area": {"code": p.home_area.code, "name": p.home_area.name} if p.home_area else None,
        }
        for p in persons.only("pk", "level", "full_name", "home_area__code", "home_area__name")
    ]
    nodes.sort(key=lambda node: (node["distance"], node["id"]))
    return {
        "case": case_id,
        "nodes": nodes,
        "edges": [
            {
                "source": row["person_id"],
                "target": row["contact_id"],
                "setting": row["setting"],
                "exposure_date": row["exposure_date"].isoformat() if row["exposure_date"] else None,
                "found_by": row["found_by"],
            }
            for _pk, row in sorted(edges.items())
        ],
        "truncated": truncated,
    }
