"""Per-area sequence numbers: shared through Redis with channels_redis, in-process otherwise."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from realtime import publish, sequence
from tests.realtime.sockets import connected, headers_for

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def fresh_code() -> str:
    """An area code no earlier run has counted (Redis keeps counters between test runs)."""
    return f"t-{uuid.uuid4().hex[:12]}"


def take_many(code: str, times: int) -> list[int]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda _: sequence.next(code), range(times)))


def test_redis_counters_are_shared_and_never_repeat(redis_url):
    assert sequence.counters().__class__.__name__ == "_RedisCounters"
    code = fresh_code()
    assert sequence.current(code) == 0
    assert sorted(take_many(code, 200)) == list(range(1, 201))
    assert sequence.current(code) == 200
    # Another process sees the same number: it reads the same Redis key.
    assert int(sequence._redis(redis_url).get(sequence.KEY_PREFIX + code)) == 200


def test_next_many_takes_one_number_per_area(redis_url):
    first, second = fresh_code(), fresh_code()
    sequence.next(first)
    assert sequence.next_many([first, second]) == {first: 2, second: 1}
    never_used = fresh_code()
    assert sequence.current_many([first, second, never_used]) == {first: 2, second: 1, never_used: 0}


def test_without_redis_the_counters_live_in_the_process(settings):
    settings.CHANNEL_LAYERS = IN_MEMORY
    assert sequence.counters() is sequence._in_process
    code = fresh_code()
    assert sorted(take_many(code, 200)) == list(range(1, 201))
    assert sequence.current_many([code, fresh_code()])[code] == 200


@pytest.mark.django_db(transaction=True)
def test_the_embedded_mode_delivers_through_the_in_memory_layer(settings, area_tree, make_user):
    """`make run` without Redis: one process, the in-memory layer, in-process counters."""
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
