"""The two sides of the expansion benchmark: tracing.classify.case_expand (the product) and the
baseline, a naive per-person ORM implementation of the same job.

Both classify the same persons by the product's own level rule (``classify.raises``) and open
the same follow-ups (a quarantine order by the level's rule, the facility chosen by the
product's ``quarantine.facility_choose``; a test for each new F1). The baseline does it the
naive way throughout: the BFS queries each frontier person's contacts, then loads, saves and
writes history for each reached person; its follow-ups check and create each person's order
and test one by one. Each side's walk and levels are timed apart from its follow-ups too.
"""

import time
from contextlib import contextmanager
from datetime import timedelta

from django.utils import timezone

from tracing import classify, quarantine
from tracing.models import (
    Classification,
    Contact,
    Person,
    QuarantineOrder,
    QuarantineRule,
    TestRequest,
    f_level,
)


def case_make_f0(case_id: int) -> None:
    """The case becomes F0, as an accepted positive result makes it (without its event: the
    expansion phase rolls back; the jobs phase confirms its cases with their events)."""
    classify.levels_raise({case_id: f_level(0)}, case_id=case_id, job="bench")


def expand_fast(case_id: int, *, depth: int) -> dict[str, list[int]]:
    return classify.case_expand(case_id, depth=depth, job="bench")


@contextmanager
def follow_ups_timed(seconds: list[float]):
    """Adds the seconds ``classify.case_expand`` spends in its follow-ups to ``seconds``."""
    original = classify.follow_ups_open

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - start)

    classify.follow_ups_open = timed
    try:
        yield
    finally:
        classify.follow_ups_open = original


def naive_follow_ups_open(new: dict[str, list[int]], *, case_id: int) -> None:
    """Orders and tests person by person with the ORM, as a naive implementation would."""
    for level, ids in new.items():
        rule = QuarantineRule.objects.filter(level=level).first()
        for person_id in ids:
            person = Person.objects.select_related("home_area").get(pk=person_id)
            if (
                rule is not None
                and not person.quarantines.filter(status=QuarantineOrder.STATUS_ACTIVE).exists()
            ):
                naive_order_create(person, rule, level=level, case_id=case_id)
            if (
                level == f_level(1)
                and not person.test_requests.filter(status=TestRequest.STATUS_OPEN).exists()
            ):
                TestRequest.objects.create(person=person, reason=TestRequest.REASON_F1, area=person.home_area)


def naive_order_create(person, rule, *, level: str, case_id: int) -> None:
    facility = None
    if rule.kind == QuarantineRule.KIND_FACILITY:  # occupancy read again for each person
        facility = quarantine.facility_choose(
            quarantine.facilities_with_room(), person.home_area.path if person.home_area else ""
        )
    today = timezone.localdate()
    QuarantineOrder.objects.create(
        person=person,
        kind=rule.kind,
        facility_id=facility.pk if facility else None,
        area_id=facility.area_id if facility else person.home_area_id,
        level=level,
        reason=quarantine.order_reason(level, case_id),
        start_date=today,
        planned_end=today + timedelta(days=rule.days),
    )


def naive_case_expand(case_id: int, *, depth: int, job: str = "bench") -> dict[str, list[int]]:
    """The baseline: breadth-first with the ORM one person at a time: each frontier person's
    contacts queried both ways, then each newly reached person loaded, saved and given a
    Classification row of its own. (The follow-ups are the caller's.)"""
    # As the product: co-location edges (QR check-ins near a case) make suspected contacts
    # (exposure.py), they are not walked.
    edges = Contact.objects.exclude(found_by=Contact.FOUND_COLOCATION)
    seen, frontier, changed = {case_id}, [case_id], {}
    for degree in range(1, depth + 1):
        reached = []
        for person_id in frontier:
            named = [edge.contact_id for edge in edges.filter(person_id=person_id)]
            named_by = [edge.person_id for edge in edges.filter(contact_id=person_id)]
            for other in named + named_by:
                if other not in seen:
                    seen.add(other)
                    reached.append(other)
        level = f_level(degree)
        for person_id in reached:
            person = Person.objects.get(pk=person_id)
            if person.merged_into_id is None and classify.raises(person.level, level):
                Classification.objects.create(
                    person=person, level_from=person.level, level=level, case_id=case_id, job=job
                )
                person.level, person.level_at = level, timezone.now()
                person.save()
                changed[person_id] = level
        frontier = reached
    result = {f_level(n): [] for n in range(1, depth + 1)}
    for person_id, level in sorted(changed.items()):
        result[level].append(person_id)
    return result
