"""Merging two records of one real person, and undoing it.

``persons_merge`` re-points every row that names the absorbed person to the kept one, in one
transaction, and records exactly which rows it moved, changed or dropped in
``PersonMerge.moved`` so that ``merge_undo`` (a second ``PersonMerge`` with ``undoes`` set)
can put each of them back. Logs carry ids only: never names, phones or citizen IDs.

Layout of ``moved``:
  "fk":       {"app.Model.field": [ids re-pointed from absorbed to kept]}
  "dropped":  [rows deleted because moving them would duplicate one of kept's (serialized)]
  "changed":  {"app.Model": {id: {field: value before the merge}}} (closed orders, requests…)
  "identifiers": {"gained": [fields kept took from absorbed], "national_id_moved": bool}
X
"""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from . import changes, classify
from .models import (
    Alert,
    CheckIn,
    Classification,
    Cluster,
    ClusterMember,
    Contact,
    DuplicateCandidate,
    Person,
    PersonMerge,
    QuarantineOrder,
    SubmissionPerson,
    TestRequest,
    f_level,
)
from .selectors import persons_in_scope

logger = logging.getLogger(__name__)

# Foreign keys to Person that move as they are: nothing unique depends on them.
PLAIN_FKS = (
    (SubmissionPerson, "person"),
    (CheckIn, "person"),
    (Alert, "person"),
    (Classification, "person"),
    (Classification, "case"),
    (Cluster, "first_case"),
    (Person, "merged_into"),
)
# Identifiers the kept person gains when it has none (citizen ID apart: it is unique).
IDENTIFIERS = ("phone", "birth_date", "birth_year", "sex", "address", "home_area", "workplace")


class MergeRefused(Exception):
    """A merge or undo that must not happen; the message is translated, for the user."""


def _label(model, field: str) -> str:
    return f"{model._meta.label}.{field}"


def _model_of(label: str):
    from django.apps import apps

    app_label, model_name, field = label.split(".")
    return apps.get_model(app_label, model_name), field


# --- Merge ---------------------------------------------------------------------------------


def persons_merge(kept: Person, absorbed: Person, *, user) -> PersonMerge:
    """Merge ``absorbed`` into ``kept``: every row re-pointed, identifiers and level joined,
    ``absorbed.merged_into = kept``. Raises ``MergeRefused`` with a translated reason."""
    with transaction.atomic():
        kept, absorbed = _lock_for_merge(kept.pk, absorbed.pk, user=user)
        moved = {"fk": {}, "dropped": [], "changed": {}}
        _duplicates_resolve(kept, absorbed, moved)
        _contacts_move(kept, absorbed, moved)
        _members_move(kept, absorbed, moved)
        _orders_move(kept, absorbed, moved)
        _requests_move(kept, absorbed, moved)
        for model, field in PLAIN_FKS:
            ids = _repoint(model, field, absorbed.pk, kept.pk)
            if ids:
                moved["fk"][_label(model, field)] = ids
        moved["identifiers"] = _identifiers_join(kept, absorbed)
        moved["level"] = _level_join(kept, absorbed, user=user)
        absorbed.merged_into = kept
        absorbed.save(update_fields=["merged_into", "updated_at"])
        merge = PersonMerge.objects.create(kept=kept, absorbed=absorbed, moved=moved, merged_by=user)
        changes.persons_merged(merge.pk, [kept.pk, absorbed.pk])
    logger.info(
        "person %s merged into person %s (merge %s, user %s)",
        absorbed.pk,
        kept.pk,
        merge.pk,
        getattr(user, "pk", None),
    )
    return merge


def _lock_for_merge(kept_id: int, absorbed_id: int, *, user) -> tuple[Person, Person]:
    if kept_id == absorbed_id:
        raise MergeRefused(_("A person cannot be merged with themselves."))
    # Locked in id order, so that two merges of the same pair cannot deadlock.
    persons = {
        p.pk: p
        for p in Person.objects.select_for_update().filter(pk__in=[kept_id, absorbed_id]).order_by("pk")
    }
    scoped = persons_in_scope(user=user, include_merged=True)
    visible = set(scoped.filter(pk__in=persons).values_list("pk", flat=True))
    if len(persons) != 2 or visible != {kept_id, absorbed_id}:
        raise MergeRefused(_("Both persons must be in your area."))
    kept, absorbed = persons[kept_id], persons[absorbed_id]
    if kept.merged_into_id or absorbed.merged_into_id:
        raise MergeRefused(_("One of these persons was already merged into another."))
    return kept, absorbed


def _repoint(model, field: str, source: int, target: int) -> list[int]:
    """Rows whose ``field`` names ``source`` now name ``target``; their ids, for the undo."""
    ids = list(model.objects.filter(**{f"{field}_id": source}).values_list("pk", flat=True))
    if ids:
        model.objects.filter(pk__in=ids).update(**{field: target})
    return ids


def _drop(rows, moved) -> None:
    """Delete rows whose move would duplicate kept's, keeping them serialized for the undo."""
    rows = list(rows)
    if rows:
        moved["dropped"].extend(_row_dump(row) for row in rows)
        type(rows[0]).objects.filter(pk__in=[row.pk for row in rows]).delete()


def _change(model, rows, moved, **values) -> None:
    """Set ``values`` on ``rows``, recording what each had before."""
    rows = list(rows)
    if not rows:
        return
    before = moved["changed"].setdefault(model._meta.label, {})
    for row in rows:
        before[str(row.pk)] = {name: _jsonable(getattr(row, name)) for name in values}
    model.objects.filter(pk__in=[row.pk for row in rows]).update(**values)


def _row_dump(row) -> dict:
    """A row as JSON, exactly (Django's JSON serializer would round times to milliseconds)."""
    fields = {field.attname: _jsonable(field.value_from_object(row)) for field in row._meta.concrete_fields}
    return {"model": row._meta.label, "fields": fields}


def _row_load(data: dict) -> None:
    from django.apps import apps

    model = apps.get_model(data["model"])
    values = {
        field.attname: field.to_python(data["fields"][field.attname])
        for field in model._meta.concrete_fields
        if field.attname in data["fields"]
    }
    model(**values).save(force_insert=True)


def _jsonable(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _contacts_move(kept: Person, absorbed: Person, moved) -> None:
    """Edges of absorbed become kept's; a self-loop, or an edge kept already has, is dropped."""
    edges = list(Contact.objects.filter(Q(person=absorbed) | Q(contact=absorbed)))
    existing = set(
        Contact.objects.filter(Q(person=kept) | Q(contact=kept)).values_list(
            "person_id", "contact_id", "found_by", "setting"
        )
    )
    swap = {absorbed.pk: kept.pk}
    dropped, by_side = [], {"person": [], "contact": []}
    for edge in edges:
        key = (swap.get(edge.person_id, edge.person_id), swap.get(edge.contact_id, edge.contact_id))
        full_key = (*key, edge.found_by, edge.setting)
        if key[0] == key[1] or full_key in existing:
            dropped.append(edge)
            continue
        existing.add(full_key)
        by_side["person" if edge.person_id == absorbed.pk else "contact"].append(edge.pk)
    _drop(dropped, moved)
    for side, ids in by_side.items():
        if ids:
            Contact.objects.filter(pk__in=ids).update(**{side: kept})
            moved["fk"][_label(Contact, side)] = ids


def _members_move(kept: Person, absorbed: Person, moved) -> None:
    kept_clusters = ClusterMember.objects.filter(person=kept).values("cluster_id")
    _drop(ClusterMember.objects.filter(person=absorbed, cluster_id__in=kept_clusters), moved)
    ids = _repoint(ClusterMember, "person", absorbed.pk, kept.pk)
    if ids:
        moved["fk"][_label(ClusterMember, "person")] = ids


def _orders_move(kept: Person, absorbed: Person, moved) -> None:
    """Two active orders: kept's stays active, absorbed's is marked transferred."""
    if QuarantineOrder.objects.filter(person=kept, status=QuarantineOrder.STATUS_ACTIVE).exists():
        active = QuarantineOrder.objects.filter(person=absorbed, status=QuarantineOrder.STATUS_ACTIVE)
        active = list(active)
        _change(
            QuarantineOrder, active, moved, status=QuarantineOrder.STATUS_TRANSFERRED, ended_at=timezone.now()
        )
        changes.orders_changed([order.pk for order in active], changes.ORDERS_ENDED)
    ids = _repoint(QuarantineOrder, "person", absorbed.pk, kept.pk)
    if ids:
        moved["fk"][_label(QuarantineOrder, "person")] = ids


def _requests_move(kept: Person, absorbed: Person, moved) -> None:
    """Two open test requests: absorbed's is cancelled (one test is enough)."""
    if TestRequest.objects.filter(person=kept, status=TestRequest.STATUS_OPEN).exists():
        open_ = TestRequest.objects.filter(person=absorbed, status=TestRequest.STATUS_OPEN)
        _change(TestRequest, open_, moved, status=TestRequest.STATUS_CANCELLED, closed_at=timezone.now())
    ids = _repoint(TestRequest, "person", absorbed.pk, kept.pk)
    if ids:
        moved["fk"][_label(TestRequest, "person")] = ids


def _duplicates_resolve(kept: Person, absorbed: Person, moved) -> None:
    """The pair itself is resolved; absorbed's other pairs become kept's unless kept has them."""
    pair = DuplicateCandidate.objects.filter(
        Q(person=kept, other=absorbed) | Q(person=absorbed, other=kept), resolved_at__isnull=True
    )
    _change(DuplicateCandidate, pair, moved, resolved_at=timezone.now())
    mine = DuplicateCandidate.objects.filter(Q(person=absorbed) | Q(other=absorbed))
    kept_pairs = set(
        DuplicateCandidate.objects.filter(Q(person=kept) | Q(other=kept)).values_list("person_id", "other_id")
    )
    swap = {absorbed.pk: kept.pk}
    dropped, by_side = [], {"person": [], "other": []}
    for candidate in mine:
        key = (
            swap.get(candidate.person_id, candidate.person_id),
            swap.get(candidate.other_id, candidate.other_id),
        )
        if key[0] == key[1]:
            continue  # the pair of these two: stays as it is, resolved above
        if key in kept_pairs:
            dropped.append(candidate)
            continue
        kept_pairs.add(key)
        by_side["person" if candidate.person_id == absorbed.pk else "other"].append(candidate.pk)
    _drop(dropped, moved)
    for side, ids in by_side.items():
        if ids:
            DuplicateCandidate.objects.filter(pk__in=ids).update(**{side: kept})
            moved["fk"][_label(DuplicateCandidate, side)] = ids


def _identifiers_join(kept: Person, absorbed: Person) -> dict:
    """Kept gains what it lacked. A citizen ID moves (it is unique: cleared on absorbed first)."""
    gained = [
        name for name in IDENTIFIERS if _empty(getattr(kept, name)) and not _empty(getattr(absorbed, name))
    ]
    national_id_moved = bool(absorbed.national_id and not kept.national_id)
    if national_id_moved:
        kept.national_id = absorbed.national_id
        absorbed.national_id = ""
        absorbed.save(update_fields=["national_id", "updated_at"])
    for name in gained:
        setattr(kept, name, getattr(absorbed, name))
    if gained or national_id_moved:
        kept.save(update_fields=[*gained, *(["national_id"] if national_id_moved else []), "updated_at"])
    return {"gained": gained, "national_id_moved": national_id_moved}


def _empty(value) -> bool:
    return value is None or value == ""


def _level_join(kept: Person, absorbed: Person, *, user) -> dict | None:
    """Kept takes absorbed's level where that raises it (classify's order; levels staff set,
    recovered or deceased, are not a job's to spread). Absorbed a confirmed case: kept is
    confirmed, so that its own contacts are expanded too."""
    if absorbed.level in classify.FROZEN_LEVELS or not classify.raises(kept.level, absorbed.level):
        return None
    before = {"from": kept.level, "at": _jsonable(kept.level_at), "to": absorbed.level}
    if absorbed.level == f_level(0):
        classify.case_confirm(kept, user=user)
    else:
        classify.levels_raise({kept.pk: absorbed.level}, user=user, note=_("merge of duplicate persons"))
    return before


# --- Undo ----------------------------------------------------------------------------------


def merge_undo(merge: PersonMerge, *, user) -> PersonMerge:
    """Put back exactly what ``merge`` moved; absorbed is a person of its own again. Recorded as
    a second PersonMerge with ``undoes=merge``."""
    with transaction.atomic():
        merge = PersonMerge.objects.select_for_update().get(pk=merge.pk)
        _check_undo(merge, user=user)
        kept, absorbed = _lock_pair(merge)
        moved = merge.moved
        _identifiers_restore(kept, absorbed, moved.get("identifiers") or {})
        for label, ids in moved.get("fk", {}).items():
            model, field = _model_of(label)
            model.objects.filter(pk__in=ids, **{f"{field}_id": kept.pk}).update(**{field: absorbed.pk})
        for label, rows in moved.get("changed", {}).items():
            _changed_restore(label, rows)
        _orders_reopened(moved.get("changed", {}))
        for data in moved.get("dropped", []):
            _row_load(data)
        if moved.get("level"):
            _level_restore(kept, moved["level"], user=user)
        Person.objects.filter(pk=absorbed.pk).update(merged_into=None, updated_at=timezone.now())
        undo = PersonMerge.objects.create(
            kept=kept, absorbed=absorbed, moved={}, undoes=merge, merged_by=user
        )
        changes.persons_merged(undo.pk, [kept.pk, absorbed.pk])
    logger.info(
        "merge %s undone (undo %s, persons %s and %s, user %s)",
        merge.pk,
        undo.pk,
        kept.pk,
        absorbed.pk,
        getattr(user, "pk", None),
    )
    return undo


def _check_undo(merge: PersonMerge, *, user) -> None:
    if merge.undoes_id:
        raise MergeRefused(_("This record undoes a merge; it cannot itself be undone."))
    if PersonMerge.objects.filter(undoes=merge).exists():
        raise MergeRefused(_("This merge was already undone."))
    if not _undo_in_scope(merge, user=user):
        raise MergeRefused(_("Both persons must be in your area."))


def _undo_in_scope(merge: PersonMerge, *, user) -> bool:
    """Both persons in the user's area. An absorbed person without a home area was seen through
    submissions that now name the kept one: it counts as in scope while merged into it."""
    scoped = persons_in_scope(user=user, include_merged=True)
    if not scoped.filter(pk=merge.kept_id).exists():
        return False
    seen_through_kept = Q(home_area__isnull=True, merged_into_id=merge.kept_id)
    return Person.objects.filter(
        Q(pk__in=scoped.values("pk")) | seen_through_kept, pk=merge.absorbed_id
    ).exists()


def _lock_pair(merge: PersonMerge) -> tuple[Person, Person]:
    persons = {
        p.pk: p
        for p in Person.objects.select_for_update()
        .filter(pk__in=[merge.kept_id, merge.absorbed_id])
        .order_by("pk")
    }
    kept, absorbed = persons[merge.kept_id], persons[merge.absorbed_id]
    if kept.merged_into_id:
        raise MergeRefused(_("The kept person was merged again since; undo that merge first."))
    return kept, absorbed


def _identifiers_restore(kept: Person, absorbed: Person, identifiers: dict) -> None:
    """Kept loses what it gained; a moved citizen ID goes back (cleared on kept first)."""
    gained = identifiers.get("gained", [])
    national_id = kept.national_id if identifiers.get("national_id_moved") else None
    updates = {
        name: (None if name in ("home_area", "workplace", "birth_date", "birth_year") else "")
        for name in gained
    }
    if national_id is not None:
        updates["national_id"] = ""
    if updates:
        Person.objects.filter(pk=kept.pk).update(**updates, updated_at=timezone.now())
    if national_id:
        Person.objects.filter(pk=absorbed.pk).update(national_id=national_id)


def _orders_reopened(changed: dict) -> None:
    """Orders the merge had closed and its undo made active again: a change of their own."""
    rows = changed.get(QuarantineOrder._meta.label, {})
    reopened = [
        int(pk) for pk, before in rows.items() if before.get("status") == QuarantineOrder.STATUS_ACTIVE
    ]
    changes.orders_changed(reopened, changes.ORDERS_REOPENED)


def _changed_restore(label: str, rows: dict) -> None:
    from django.apps import apps
    from django.utils.dateparse import parse_datetime

    model = apps.get_model(label)
    for pk, values in rows.items():
        restored = {}
        for name, value in values.items():
            field = model._meta.get_field(name)
            is_time = field.get_internal_type() == "DateTimeField"
            restored[name] = parse_datetime(value) if is_time and value else value
        model.objects.filter(pk=int(pk)).update(**restored)


def _level_restore(kept: Person, before: dict, *, user) -> None:
    """Kept's level as it was before the merge raised it: an explicit change, with its history
    row, and the time it had held that level since. A level changed since (a new test, staff)
    is not the merge's to take back, and stays."""
    from django.utils.dateparse import parse_datetime

    if Person.objects.filter(pk=kept.pk).values_list("level", flat=True).get() != before.get("to"):
        return

    classify.level_set(kept, before["from"], user=user, note=_("undo of a merge of duplicate persons"))
    Person.objects.filter(pk=kept.pk).update(level_at=parse_datetime(before["at"]) if before["at"] else None)
