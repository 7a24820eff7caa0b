"""Area events on /ws/live/: the real ASGI application on channels_redis (REDIS_URL).

Each user joins the group of the root of their scope; ``realtime.publish`` sends an event to
its area's group and every ancestor's, each copy with that group's next sequence number.
"""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils import translation
from wagtail.users.models import UserProfile

from places.roles import GroupRole
from realtime import consumers, publish, sequence
from tests.realtime.sockets import connected, headers_for, publish_async

QUIET = 0.3  # seconds a socket must stay silent to show that nothing was sent to it

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def on_redis(redis_url):
    """These tests are about the channels_redis layer (realtime.layers) and the shared counters."""
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "realtime.layers.RedisChannelLayer"


@pytest.fixture
def leaders(area_tree, make_user):
    """A province leader, one per district, and a superuser (no area: sees everything)."""
    return {
        "province": make_user("tinh", area=area_tree["province"], role=GroupRole.ROLE_LEADER),
        "cam_lam": make_user("camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_LEADER),
        "nha_trang": make_user("nhatrang", area=area_tree["nha_trang"], role=GroupRole.ROLE_LEADER),
        "super": make_user("admin", superuser=True),
    }


@pytest.fixture
def headers(leaders):
    """Each leader's socket headers (a session is made in sync code, before the async scenario)."""
    return {key: headers_for(user) for key, user in leaders.items()}


def in_site_language(message) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(message)


async def request(communicator, content: dict) -> dict:
    await communicator.send_json_to(content)
    return await communicator.receive_json_from(timeout=5)


def test_hello_lists_the_scope_root_with_its_current_seq(area_tree, leaders, headers):
    before = sequence.current_many(["56", "570"])

    async def scenario():
        province, province_hello = await connected(headers["province"])
        district, district_hello = await connected(headers["cam_lam"])
        superuser, super_hello = await connected(headers["super"])
        for communicator in (province, district, superuser):
            await communicator.disconnect()
        return province_hello, district_hello, super_hello

    province_hello, district_hello, super_hello = async_to_sync(scenario)()
    assert province_hello == {"type": "hello", "user": "tinh", "areas": {"56": before["56"]}}
    assert district_hello == {"type": "hello", "user": "camlam", "areas": {"570": before["570"]}}
    assert super_hello["areas"] == {"56": before["56"]}


def test_an_event_reaches_its_area_and_ancestors_only(area_tree, leaders, headers):
    """A village event goes to the province and to its district, never to the other one."""
    before = sequence.current_many(["56", "570", "568", "22711", "22711-02"])

    async def scenario():
        province, _ = await connected(headers["province"])
        cam_lam, _ = await connected(headers["cam_lam"])
        nha_trang, _ = await connected(headers["nha_trang"])
        seqs = await publish_async(area_tree["dong_cau"], {"type": "counts.changed", "date": "2021-08-20"})
        received = {
            "province": await province.receive_json_from(timeout=5),
            "cam_lam": await cam_lam.receive_json_from(timeout=5),
            "nha_trang_silent": await nha_trang.receive_nothing(timeout=QUIET),
        }
        for communicator in (province, cam_lam, nha_trang):
            await communicator.disconnect()
        return seqs, received

    seqs, received = async_to_sync(scenario)()
    chain = ["56", "570", "22711", "22711-02"]
    assert seqs == {code: before[code] + 1 for code in chain}
    assert received["province"] == {
        "type": "counts.changed",
        "date": "2021-08-20",
        "area": "56",
        "seq": before["56"] + 1,
        "origin": "22711-02",
    }
    assert received["cam_lam"]["area"] == "570"
    assert received["cam_lam"]["seq"] == before["570"] + 1
    assert received["nha_trang_silent"] is True
    assert sequence.current("568") == before["568"]


def test_a_district_user_never_receives_another_districts_event(area_tree, leaders, headers):
    """The other district's event is published first: if it leaked it would be the first message."""

    async def scenario():
        cam_lam, _ = await connected(headers["cam_lam"])
        nha_trang, _ = await connected(headers["nha_trang"])
        await publish_async(area_tree["vinh_luong"], {"type": "case.new", "case": {"id": 1}})
        await publish_async("22453", {"type": "case.new", "case": {"id": 2}})
        first_at_cam_lam = await cam_lam.receive_json_from(timeout=5)
        first_at_nha_trang = await nha_trang.receive_json_from(timeout=5)
        silent = await cam_lam.receive_nothing(timeout=QUIET) and await nha_trang.receive_nothing(
            timeout=QUIET
        )
        for communicator in (cam_lam, nha_trang):
            await communicator.disconnect()
        return first_at_cam_lam, first_at_nha_trang, silent

    first_at_cam_lam, first_at_nha_trang, silent = async_to_sync(scenario)()
    assert (first_at_cam_lam["case"], first_at_cam_lam["origin"]) == ({"id": 2}, "22453")
    assert (first_at_nha_trang["case"], first_at_nha_trang["origin"]) == ({"id": 1}, "22384")
    assert silent


def test_seq_increments_per_group(area_tree, leaders, headers):
    """Three events in Cam Lâm, one in Nha Trang: the province counts four, each district its own."""
    before = sequence.current_many(["56", "570", "568"])

    async def scenario():
        province, _ = await connected(headers["province"])
        cam_lam, _ = await connected(headers["cam_lam"])
        for area in ("22711", "568", "22453", "570"):
            await publish_async(area, {"type": "counts.changed"})
        province_seqs = [(await province.receive_json_from(timeout=5))["seq"] for _ in range(4)]
        cam_lam_seqs = [(await cam_lam.receive_json_from(timeout=5))["seq"] for _ in range(3)]
        for communicator in (province, cam_lam):
            await communicator.disconnect()
        return province_seqs, cam_lam_seqs

    province_seqs, cam_lam_seqs = async_to_sync(scenario)()
    assert province_seqs == [before["56"] + n for n in (1, 2, 3, 4)]
    assert cam_lam_seqs == [before["570"] + n for n in (1, 2, 3)]
    assert sequence.current("568") == before["568"] + 1


def test_several_events_published_together_each_take_their_groups_next_seq(area_tree, leaders, headers):
    """publish_many (a job's commit): one trip to the layer, the same numbers as one by one."""
    from asgiref.sync import sync_to_async

    from realtime.publish import publish_many

    before = sequence.current_many(["56", "570"])

    async def scenario():
        cam_lam, _ = await connected(headers["cam_lam"])
        events = [("22711", {"type": "counts.changed"}), ("570", {"type": "case.new"})]
        numbers = await sync_to_async(publish_many)(events)
        received = [await cam_lam.receive_json_from(timeout=5) for _ in range(2)]
        await cam_lam.disconnect()
        return numbers, received

    numbers, received = async_to_sync(scenario)()
    assert [n["570"] for n in numbers] == [before["570"] + 1, before["570"] + 2]
    assert [n["56"] for n in numbers] == [before["56"] + 1, before["56"] + 2]
    assert [(m["type"], m["seq"], m["origin"]) for m in received] == [
        ("counts.changed", before["570"] + 1, "22711"),
        ("case.new", before["570"] + 2, "570"),
    ]


def test_subscribe_inside_the_scope_adds_the_area(area_tree, leaders, headers):
    async def scenario():
        province, _ = await connected(headers["province"])
        answer = await request(province, {"subscribe": "570"})
        await publish_async("22711", {"type": "counts.changed"})
        copies = {(await province.receive_json_from(timeout=5))["area"] for _ in range(2)}
        unsubscribed = await request(province, {"unsubscribe": "570"})
        await publish_async("22711", {"type": "counts.changed"})
        after = await province.receive_json_from(timeout=5)
        silent = await province.receive_nothing(timeout=QUIET)
        await province.disconnect()
        return answer, copies, unsubscribed, after, silent

    answer, copies, unsubscribed, after, silent = async_to_sync(scenario)()
    assert answer["type"] == "subscribed"
    assert list(answer["areas"]) == ["570"]
    assert copies == {"56", "570"}
    assert unsubscribed == {"type": "unsubscribed", "area": "570"}
    assert after["area"] == "56"
    assert silent


@pytest.mark.parametrize("code", ["568", "22384", "no-such-area"])
def test_subscribe_outside_the_scope_is_refused_and_changes_nothing(area_tree, leaders, headers, code):
    """Another district, a commune of it, or a code that does not exist: the same answer."""

    async def scenario():
        cam_lam, _ = await connected(headers["cam_lam"])
        answer = await request(cam_lam, {"subscribe": code})
        await publish_async("22384", {"type": "counts.changed"})
        silent = await cam_lam.receive_nothing(timeout=QUIET)
        await cam_lam.disconnect()
        return answer, silent

    answer, silent = async_to_sync(scenario)()
    assert answer == {
        "type": "error",
        "reason": consumers.REASON_UNKNOWN_AREA,
        "message": in_site_language(consumers.UNKNOWN_AREA),
        "subscribe": code,
    }
    assert silent


def test_errors_speak_the_users_language(area_tree, leaders, headers):
    UserProfile.objects.update_or_create(user=leaders["cam_lam"], defaults={"preferred_language": "en"})

    async def scenario():
        cam_lam, _ = await connected(headers["cam_lam"])
        answer = await request(cam_lam, {"subscribe": "568"})
        await cam_lam.disconnect()
        return answer

    assert async_to_sync(scenario)()["message"] == "No such area in your scope."


@pytest.mark.parametrize(
    "garbage",
    [
        "not json",
        "[1, 2]",
        '"subscribe"',
        '{"hello": 1}',
        '{"subscribe": 568}',
        '{"subscribe": ""}',
        '{"subscribe": "' + "5" * 200 + '"}',
        '{"unsubscribe": null}',
    ],
)
def test_garbage_gets_an_error_and_the_socket_stays_open(area_tree, leaders, headers, garbage):
    async def scenario():
        cam_lam, _ = await connected(headers["cam_lam"])
        await cam_lam.send_to(text_data=garbage)
        answer = await cam_lam.receive_json_from(timeout=5)
        await publish_async("22711", {"type": "counts.changed"})
        still_served = await cam_lam.receive_json_from(timeout=5)
        await cam_lam.disconnect()
        return answer, still_served

    answer, still_served = async_to_sync(scenario)()
    assert answer["type"] == "error"
    assert answer["reason"] == consumers.REASON_BAD_REQUEST
    assert answer["message"]
    assert (still_served["type"], still_served["area"]) == ("counts.changed", "570")


def test_one_socket_takes_a_bounded_number_of_areas(area_tree, leaders, headers, monkeypatch):
    codes = ["570", "568", "22711", "22453", "22384", "22711-02"]

    async def scenario():
        province, _ = await connected(headers["province"])
        answers = [await request(province, {"subscribe": code}) for code in codes]
        await province.disconnect()
        return answers

    monkeypatch.setattr(consumers, "MAX_AREAS_PER_SOCKET", 3)  # the province's own and two more
    answers = async_to_sync(scenario)()
    assert [answer["type"] for answer in answers] == ["subscribed", "subscribed"] + ["error"] * 4
    assert answers[-1]["reason"] == consumers.REASON_TOO_MANY_AREAS


def test_a_user_without_an_area_joins_no_area(area_tree, make_user):
    nobody_headers = headers_for(make_user("khach"))

    async def scenario():
        nobody, hello = await connected(nobody_headers)
        answer = await request(nobody, {"subscribe": "56"})
        await publish_async("56", {"type": "counts.changed"})
        silent = await nobody.receive_nothing(timeout=QUIET)
        await nobody.disconnect()
        return hello, answer, silent

    hello, answer, silent = async_to_sync(scenario)()
    assert hello["areas"] == {}
    assert answer["reason"] == consumers.REASON_UNKNOWN_AREA
    assert silent


def test_publish_to_an_unknown_area_sends_nothing(area_tree):
    assert publish("no-such-area", {"type": "counts.changed"}) == {}
    assert sequence.current("no-such-area") == 0


def test_publish_needs_a_type(area_tree):
    with pytest.raises(ValueError):
        publish("56", {"date": "2021-08-20"})


def test_the_routing_fields_win_over_the_callers(area_tree, leaders, headers):
    async def scenario():
        cam_lam, _ = await connected(headers["cam_lam"])
        await publish_async("22711", {"type": "counts.changed", "area": "568", "seq": -1, "origin": "568"})
        event = await cam_lam.receive_json_from(timeout=5)
        await cam_lam.disconnect()
        return event

    event = async_to_sync(scenario)()
    assert (event["area"], event["origin"]) == ("570", "22711")
    assert event["seq"] > 0


def test_a_socket_open_longer_than_group_expiry_keeps_its_groups(area_tree, leaders, headers, settings):
    """A wall-mounted dashboard stays open for days; the layer forgets members after
    ``group_expiry``. The consumer joins again in time (here the expiry is two seconds)."""
    layer = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer["CONFIG"], "group_expiry": 2}}}

    async def scenario():
        cam_lam, _ = await connected(headers["cam_lam"])
        await asyncio.sleep(3.5)
        await publish_async("22711", {"type": "counts.changed"})
        event = await cam_lam.receive_json_from(timeout=5)
        await cam_lam.disconnect()
        return event

    assert async_to_sync(scenario)()["area"] == "570"
