"""The tracing benchmark's loader and both of its sides, small, so that bench/tracing cannot rot.

Not a timing: bench/tracing/run.py measures. This loads a 2,000-person graph with COPY (its
indexes dropped and rebuilt) on the test database and checks that the product's expansion
and the bench's naive baseline classify the same persons.
"""

import random

import pytest
from django.db import connection, transaction

from bench.tracing.expand import case_make_f0, expand_fast, naive_case_expand
from bench.tracing.graph import graph_load
from places.models import Area, Place
from tracing.models import Contact, Person

pytestmark = pytest.mark.django_db


def table_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename IN ('tracing_person', 'tracing_contact')"
        )
        return {row[0] for row in cursor.fetchall()}


def rolled_back(function):
    with transaction.atomic():
        result = function()
        transaction.set_rollback(True)
    return {level: sorted(ids) for level, ids in (result or {}).items() if ids}


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
    reached = 0
    for case_id in cases:

        def fast(case_id=case_id):
            case_make_f0(case_id)
            return expand_fast(case_id, depth=2)

        def naive(case_id=case_id):
            case_make_f0(case_id)
            return naive_case_expand(case_id, depth=2)

        expanded = rolled_back(fast)
        assert rolled_back(naive) == expanded
        reached += len(expanded.get("F1", []))
    assert reached > 0
    assert not Person.objects.exclude(level="").exists()  # each case was rolled back
