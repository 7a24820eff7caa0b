"""Redis restarted under 50 open pages: every page is live again within 10 s, on the socket it
had, and misses no sequence number.

Redis keeps nothing on disk (docs/deploy.md): it comes back without the layer's group
memberships, and anything kept only in Redis is gone. The layer joins its sockets' groups
again and says hello on each (realtime/layers.py, realtime/consumers.py); the numbers live in
PostgreSQL and go on where they were (realtime/sequence.py); a page that was told of a number
it has not seen refetches its snapshot (live.js, mirrored by tests/faults/live_client.py).
"""

import time

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from places.models import GroupRole
from realtime import publish, sequence
from realtime.consumers import CLOSE_TRY_AGAIN_LATER, REASON_UNAVAILABLE
from tests.faults.conftest import session_cookie, wait_for
from tests.faults.live_client import ClientsThread, LiveClient
from tests.realtime.sockets import connected, headers_for
from website.asgi import application

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

CLIENTS = 50
RECOVERY_SECONDS = 10
FOLLOWED = ("56", "570")  # the province's pages and Cam Lâm's; events happen in a commune of Cam Lâm


class Publisher:
    """This process publishes as a worker does, and notes each event's numbers and time."""

    def __init__(self):
        self.published: list[tuple[float, dict[str, int]]] = []

    def __call__(self, n: int) -> None:
        at = time.monotonic()
        publish("22711", {"type": "counts.changed", "date": "2021-08-20", "metrics": ["tests"], "n": n})
        # The only publisher: the numbers now current are this event's, sent or not.
        self.published.append((at, sequence.current_many(list(FOLLOWED))))

    def numbers(self, area: str) -> list[int]:
        return [seqs[area] for _at, seqs in self.published]


def test_fifty_pages_recover_within_ten_seconds_of_a_redis_restart_and_miss_no_number(
    asgi_servers, redis_server, area_tree, make_user
):
    users = {
        "56": make_user("lanhdao.tinh", area=area_tree["province"], role=GroupRole.ROLE_LEADER),
        "570": make_user("lanhdao.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_LEADER),
    }
    cookies = {area: session_cookie(user) for area, user in users.items()}
    clients = [
        LiveClient(asgi_servers[i % 2], cookies[FOLLOWED[i // 2 % 2]], FOLLOWED[i // 2 % 2])
        for i in range(CLIENTS)
    ]
    thread = ClientsThread(clients)
    publisher = Publisher()
    thread.start()
    try:
        assert wait_for(lambda: all(c.seq is not None for c in clients), timeout=20), "pages did not start"
        for n in range(3):
            publisher(n)
        assert wait_for(lambda: all(len(c.applied) == 3 for c in clients), timeout=10), "not live before"

        redis_server.kill()
        for n in range(3, 5):
            publisher(n)  # numbers taken, messages lost: the pages must learn of them anyway
        time.sleep(0.5)
        redis_server.start()
        restarted = time.monotonic()
        n = 5
        while not all(c.live_since(restarted) for c in clients):
            assert time.monotonic() - restarted < RECOVERY_SECONDS + 1, "pages not live again"
            publisher(n)
            n += 1
            time.sleep(0.25)
        publisher(n)
        last = publisher.published[-1][1]
        assert wait_for(lambda: all(c.seq == last[c.area] for c in clients), timeout=5), "pages behind"
    finally:
        thread.stop()

    slowest = max(c.live_since(restarted) - restarted for c in clients)
    assert slowest < RECOVERY_SECONDS, f"the slowest page was live again after {slowest:.1f} s"
    for area in FOLLOWED:
        numbers = publisher.numbers(area)
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "numbering did not go on"
    missed = [
        (index, seqs[c.area])
        for index, c in enumerate(clients)
        for at, seqs in publisher.published
        if not c.covered(seqs[c.area], at)
    ]
    assert missed == [], "pages missed these (page, seq)"
    # Each page kept its socket: the server said hello again instead of making 50 pages reconnect.
    assert [c.connections for c in clients] == [1] * CLIENTS
    assert all(c.hellos >= 2 for c in clients)


@pytest.mark.django_db(transaction=True)
def test_while_redis_is_down_sockets_are_told_to_try_again_and_come_back_by_themselves(
    on_throwaway_redis, area_tree, make_user
):
    """The consumer's side, in this process: a socket open when Redis goes hears why its
    subscribe is refused, then a hello once Redis is back; a new socket meanwhile is closed
    with 1013 (try again later), which the page answers by reconnecting."""
    headers = headers_for(make_user("lanhdao.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_LEADER))

    async def scenario():
        socket, hello = await connected(headers)
        on_throwaway_redis.kill()
        await socket.send_json_to({"subscribe": "22711"})
        refused = await socket.receive_json_from(timeout=5)
        newcomer = WebsocketCommunicator(application, "/ws/live/", headers=headers)
        accepted, code = await newcomer.connect(timeout=5)
        on_throwaway_redis.start()
        again = await socket.receive_json_from(timeout=10)
        await socket.disconnect()
        return hello, refused, (accepted, code), again

    hello, refused, newcomer, again = async_to_sync(scenario)()
    assert (refused["type"], refused["reason"]) == ("error", REASON_UNAVAILABLE)
    assert refused["subscribe"] == "22711" and refused["message"]
    assert newcomer == (False, CLOSE_TRY_AGAIN_LATER)
    assert again == hello  # the same areas, nothing published meanwhile
