"""``outbox.events_batched``: the events a job adds are written in one INSERT as the block ends,
in their order, and not at all if the block fails."""

import pytest
from django.db import transaction

from workflows import outbox
from workflows.models import Event

pytestmark = pytest.mark.django_db


def test_a_batch_writes_its_events_in_one_statement_at_its_end_in_their_order(
    django_assert_num_queries,
):
    # One query: the INSERT, as the batch ends.
    with transaction.atomic(), django_assert_num_queries(1), outbox.events_batched():
        outbox.event_add(kind="tracing.classified", key="k:1", payload={"ids": [3, 1]})
        with outbox.events_batched():  # an inner batch joins the outer one
            outbox.event_add(kind="quarantine.changed", key="k:2", payload={"tên": "Nguyễn Thị Ánh"})
        outbox.event_add(kind="tracing.classified", key="k:1", payload={"ids": [9]})  # same key
        outbox.event_add(kind="alert.raised", key="k:3", payload={})

    events = list(Event.objects.order_by("pk").values_list("key", "kind", "payload"))
    assert events == [
        ("k:1", "tracing.classified", {"ids": [3, 1]}),  # the first record of a key stays
        ("k:2", "quarantine.changed", {"tên": "Nguyễn Thị Ánh"}),
        ("k:3", "alert.raised", {}),
    ]
    assert all(event.relayed_at is None and event.relay_count == 0 for event in Event.objects.all())


def test_outside_a_batch_each_event_is_written_at_once():
    with transaction.atomic():
        outbox.event_add(kind="alert.raised", key="k:1", payload={"alerts": [1]})
        assert Event.objects.filter(key="k:1").exists()
        outbox.event_add(kind="alert.raised", key="k:1", payload={"alerts": [2]})
    assert list(Event.objects.values_list("payload", flat=True)) == [{"alerts": [1]}]


def test_a_batch_that_fails_writes_nothing():
    with pytest.raises(RuntimeError), transaction.atomic(), outbox.events_batched():
        outbox.event_add(kind="alert.raised", key="k:1", payload={})
        raise RuntimeError("the job failed")
    assert not Event.objects.exists()
    outbox.event_add(kind="alert.raised", key="k:2", payload={})  # the batch is over
    assert Event.objects.filter(key="k:2").exists()
