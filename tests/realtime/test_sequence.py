"""Per-area sequence numbers: kept in the database, shared by every process, whatever the
channel layer (they outlive a Redis restart: tests/faults/test_faults_redis_restart.py)."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection

from realtime import publish, sequence
from realtime.models import AreaSequence
from realtime.publish import publish_many
from tests.realtime.sockets import connected, headers_for

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def fresh_code() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def take_many(code: str, times: int) -> list[int]:
    def take(_):
        try:
            return sequence.next(code)
        finally:
            connection.close()  # each thread's own connection, or the test database stays in use

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(take, range(times)))


@pytest.mark.django_db(transaction=True)
def test_numbers_are_shared_by_every_connection_and_never_repeat():
    code = fresh_code()
    assert sequence.current(code) == 0
    assert sorted(take_many(code, 200)) == list(range(1, 201))
    assert sequence.current(code) == 200
    # What another process reads: the row, not anything this process keeps.
    assert AreaSequence.objects.get(code=code).value == 200


@pytest.mark.django_db
def test_next_many_takes_one_number_per_area():
    first, second = fresh_code(), fresh_code()
    sequence.next(first)
    assert sequence.next_many([first, second]) == {first: 2, second: 1}
    never_used = fresh_code()
    assert sequence.current_many([first, second, never_used]) == {first: 2, second: 1, never_used: 0}


@pytest.mark.django_db
def test_reserve_takes_a_run_of_numbers_in_one_statement(django_assert_num_queries):
    code, other = fresh_code(), fresh_code()
    sequence.next(code)
    with django_assert_num_queries(1):
        assert sequence.reserve({code: 3, other: 1, fresh_code(): 0}) == {code: 4, other: 1}


@pytest.mark.django_db
def test_a_batch_of_events_gets_consecutive_numbers_per_area(settings, area_tree):
    """Two events in one village: each area above it counts both, in the batch's order."""
    settings.CHANNEL_LAYERS = IN_MEMORY
    before = sequence.current_many(["56", "570", "22711"])
    first, second = publish_many(
        [(area_tree["suoi_tan"], {"type": "counts.changed"}), ("22711", {"type": "case.new"})]
    )
    assert first == {code: before[code] + 1 for code in ("56", "570", "22711")}
    assert second == {code: before[code] + 2 for code in ("56", "570", "22711")}


@pytest.mark.django_db(transaction=True)
def test_the_embedded_mode_delivers_through_the_in_memory_layer(settings, area_tree, make_user):
    """`make run` without Redis: one process, the in-memory layer, the same counters."""
    settings.CHANNEL_LAYERS = IN_MEMORY
    headers = headers_for(make_user("camlam", area=area_tree["cam_lam"]))

    async def scenario():
        socket, hello = await connected(headers)
        await sync_to_async(publish)(area_tree["suoi_tan"], {"type": "counts.changed"})
        event = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return hello, event

    hello, event = async_to_sync(scenario)()
    assert event["seq"] == hello["areas"]["570"] + 1
    assert (event["area"], event["origin"]) == ("570", "22711")


@pytest.mark.django_db
def test_publish_with_redis_down_is_logged_and_sends_nothing(settings, area_tree, caplog):
    """The change is committed already: a live push that cannot go costs the pages a refetch,
    never the job that called it."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    assert publish(area_tree["suoi_tan"], {"type": "counts.changed"}) == {}
    assert "not sent" in caplog.text
