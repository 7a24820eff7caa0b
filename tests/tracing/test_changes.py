"""Tracing records an outbox event with each change other apps count (tracing/changes.py):
level changes, quarantine orders made and ended, alerts. One event per change, in its
transaction; the same change twice records one event."""

import pytest
from django.contrib.auth import get_user_model

from tracing import changes, classify, quarantine
from tracing.models import Alert, Classification, Person, QuarantineOrder, QuarantineRule
from workflows.models import Event

pytestmark = pytest.mark.django_db


def persons(count: int) -> list[Person]:
    return Person.objects.bulk_create(
        Person(full_name=f"Phạm Văn {n}", name_folded=f"pham van {n}") for n in range(count)
    )


def payloads(kind: str) -> list[dict]:
    return list(Event.objects.filter(kind=kind).order_by("pk").values_list("payload", flat=True))


def test_a_raise_records_its_history_rows_and_a_staff_change_its_own():
    a, b = persons(2)
    classify.levels_raise({a.pk: "F1", b.pk: "F2"}, job="test")
    rows = sorted(Classification.objects.values_list("pk", flat=True))
    assert payloads(changes.TRACING_CLASSIFIED) == [{"classifications": rows}]

    classify.levels_raise({a.pk: "F1"}, job="test")  # nothing raised: no event
    assert len(payloads(changes.TRACING_CLASSIFIED)) == 1

    staff = get_user_model().objects.create_user("canbo")
    row = classify.level_set(a, "cleared", user=staff, note="âm tính hai lần")
    assert payloads(changes.TRACING_CLASSIFIED)[-1] == {"classifications": [row.pk]}


def test_orders_made_and_ended_each_record_their_change():
    QuarantineRule.objects.create(level="F2", kind=QuarantineRule.KIND_HOME, days=7)
    a, b = persons(2)
    made = quarantine.orders_for_level([a.pk, b.pk], "F2")
    assert payloads(changes.QUARANTINE_CHANGED) == [{"change": "started", "orders": sorted(made)}]
    assert quarantine.orders_for_level([a.pk, b.pk], "F2") == []  # each has one: nothing new
    assert len(payloads(changes.QUARANTINE_CHANGED)) == 1

    staff = get_user_model().objects.create_user("cachly")
    order = QuarantineOrder.objects.get(person=a)
    quarantine.order_end(order, QuarantineOrder.STATUS_BROKEN, user=staff, note="Tự ý rời nơi cách ly")
    assert payloads(changes.QUARANTINE_CHANGED)[-1] == {"change": "ended", "orders": [order.pk]}


def test_alerts_raised_once_record_one_event():
    [person] = persons(1)
    alert = Alert(key="fever:test", kind=Alert.KIND_FEVER, person=person, message="38.2 °C")
    assert quarantine.alerts_raise([alert]) == 1
    again = Alert(key="fever:test", kind=Alert.KIND_FEVER, person=person, message="38.2 °C")
    assert quarantine.alerts_raise([again]) == 0
    assert payloads(changes.ALERT_RAISED) == [{"alerts": [Alert.objects.get().pk]}]
