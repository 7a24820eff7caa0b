"""End to end with a real RQ worker and the Redis channel layer: a positive result accepted
through the API counts at its village and every area above it, the dashboard shows it, and
the live groups of those areas (only those) hear ``counts.changed`` and ``case.new``."""

import json
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client
from wagtail.models import APIToken

from places.models import GroupRole
from realtime import sequence
from realtime.publish import area_group
from tests.factories import field, publish_form
from tests.workflows.conftest import burst, queues  # noqa: F401 - fixture
from workflows.models import Event
from workflows.outbox import relay_pending

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = [
    field("person", "Người được xét nghiệm", "patient", required=True, role="person", birth="year"),
    field(
        "single_choice",
        "Loại",
        "test_type",
        role="test_type",
        choices=[{"value": "rt_pcr_don", "label": "PCR"}],
    ),
    field(
        "single_choice",
        "Kết quả",
        "result",
        required=True,
        role="test_result",
        choices=[{"value": "negative", "label": "Âm"}, {"value": "positive", "label": "Dương"}],
    ),
    field("area", "Nơi ở", "area", required=True, role="area", depth=0),
]


def run_jobs():
    for _ in range(6):
        relay_pending()
        burst()
        if not Event.objects.filter(done_at=None).exists():
            return
    raise AssertionError("events left undone")


def listening(code: str):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(area_group(code), channel)
    return channel


def heard(channel) -> list[dict]:
    layer, messages = get_channel_layer(), []

    async def drain():
        import asyncio

        while True:
            try:
                messages.append((await asyncio.wait_for(layer.receive(channel), 0.5))["event"])
            except TimeoutError:
                return

    async_to_sync(drain)()
    return messages


def test_a_positive_result_counts_up_the_tree_and_goes_live_to_those_areas_only(
    queues,  # noqa: F811
    home,
    area_tree,
    make_user,
):
    form = publish_form(home, slug="xet-nghiem", fields=FIELDS, area=area_tree["province"], kind="testing")
    sampler = make_user("laymau", area=area_tree["province"], role=GroupRole.ROLE_FIELD_STAFF)
    leader = make_user("lanhdao.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_LEADER)
    cam_lam, nha_trang, village = listening("570"), listening("568"), listening("22711-02")
    seq_before = sequence.current("570")
    _token, key = APIToken.create_token(user=sampler, name="phone")
    data = {
        "patient": {"full_name": "Lê Văn Tám", "birth_year": 1984},
        "test_type": "rt_pcr_don",
        "result": "positive",
        "area": "22711-02",
    }
    response = Client().post(
        f"/api/v1/forms/{form.slug}/submissions",
        json.dumps({"client_id": str(uuid.uuid4()), "data": data}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 201, response.content
    run_jobs()

    client = Client()
    client.force_login(leader)
    body = client.get("/api/v1/dashboard").json()
    assert body["headline"]["positive"]["today"] == 1 and body["headline"]["cases_f0"]["today"] == 1
    assert body["seq"] > seq_before
    district_events = heard(cam_lam)
    kinds = {event["type"] for event in district_events}
    assert {"counts.changed", "case.new"} <= kinds
    case = next(event for event in district_events if event["type"] == "case.new")
    assert case["origin"] == "22711-02" and case["case"]["level"] == "F0"
    assert case["case"]["area"]["code"] == "22711-02" and "name" not in case["case"]
    assert heard(nha_trang) == []
    assert {event["type"] for event in heard(village)} >= {"counts.changed", "case.new"}
    assert body["seq"] == max(event["seq"] for event in district_events)
