"""The tracing benchmark's loader and both of its sides, small, so that bench/tracing cannot rot.

Not a timing: bench/tracing/run.py measures. This loads a 2,000-person graph with COPY (its
indexes dropped and rebuilt) on the test database and checks that the product's expansion
and the bench's naive baseline classify the same persons.
"""

import random

import pytest
from django.db import connection, transaction

from bench.tracing.expand import case_make_f0, expand_fast, naive_case_expand, naive_follow_ups_open
from bench.tracing.graph import graph_load
from places.models import Area, Place
from tracing.models import Contact, Person, QuarantineOrder, QuarantineRule, TestRequest

pytestmark = pytest.mark.django_db


def table_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename IN ('tracing_person', 'tracing_contact')"
        )
        return {row[0] for row in cursor.fetchall()}


def rolled_back(function):
    """The levels reached, and the orders (person, kind, level) and tests made, all undone."""
    with transaction.atomic():
        result = function()
        orders = sorted(QuarantineOrder.objects.values_list("person_id", "kind", "level"))
        tests = sorted(TestRequest.objects.values_list("person_id", flat=True))
        transaction.set_rollback(True)
    return {level: sorted(ids) for level, ids in (result or {}).items() if ids}, orders, tests


def test_the_bench_graph_loads_and_both_sides_classify_alike(postgres, area_tree):
    leaves = list(Area.objects.filter(numchild=0).values_list("pk", flat=True))
    park = Place.objects.create(
        kind=Place.KIND_INDUSTRIAL_PARK, name="KCN Suối Dầu", area=area_tree["suoi_tan"]
    )
    indexes = table_indexes()

    loaded = graph_load(connection, people=2000, edges=10_000, area_ids=leaves, park_ids=[park.pk], seed=7)

    assert table_indexes() == indexes
    assert Person.objects.count() == 2000
    assert Contact.objects.count() == loaded["edges"] > 9000
    assert Contact.objects.filter(setting=Contact.SETTING_INDUSTRIAL_PARK, place=park).exists()
    assert Person.objects.filter(workplace=park).exists()
    cases = random.Random(1).sample(range(loaded["first_id"], loaded["last_id"] + 1), 3)  # noqa: S311
    QuarantineRule.objects.create(level="F1", kind=QuarantineRule.KIND_FACILITY, days=14)
    QuarantineRule.objects.create(level="F2", kind=QuarantineRule.KIND_HOME, days=7)
    reached = orders = 0
    for case_id in cases:

        def fast(case_id=case_id):
            case_make_f0(case_id)
            return expand_fast(case_id, depth=2)

        def naive(case_id=case_id):
            case_make_f0(case_id)
            new = naive_case_expand(case_id, depth=2)
            naive_follow_ups_open(new, case_id=case_id)
            return new

        expanded = rolled_back(fast)
        assert rolled_back(naive) == expanded  # the same levels, orders and tests
        reached += len(expanded[0].get("F1", []))
        orders += len(expanded[1])
    assert reached > 0 and orders > reached
    assert not Person.objects.exclude(level="").exists()  # each case was rolled back
