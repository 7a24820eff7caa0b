"""The two sides of the expansion benchmark: tracing.classify.case_expand (the product) and the
baseline, a naive per-person ORM BFS doing the same job.

Both classify the same persons by the product's own level rule (``classify.raises``), and
both open the same follow-ups (quarantine orders by rule, a test for each new F1) with the
product's set-based ``follow_ups_open``: what differs is how the graph is walked and the
levels are written.
"""

import time
from contextlib import contextmanager

from django.utils import timezone

from tracing import classify
from tracing.models import Classification, Contact, Person, f_level


def case_make_f0(case_id: int) -> None:
    """The case becomes F0, as an accepted positive result makes it (without its event: the
    expansion phase rolls back; the jobs phase confirms its cases with their events)."""
    classify.levels_raise({case_id: f_level(0)}, case_id=case_id, job="bench")


def expand_fast(case_id: int, *, depth: int) -> dict[str, list[int]]:
    return classify.case_expand(case_id, depth=depth, job="bench")


def follow_ups_open(new: dict[str, list[int]], *, case_id: int) -> None:
    classify.follow_ups_open(new, case_id=case_id, job="bench")


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
