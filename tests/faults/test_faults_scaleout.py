"""Scale-out: two uvicorn processes on one Redis (as behind the proxy of docs/deploy.md). A page
connected to process 1 hears, live, of a submission that a phone sent to process 2."""

import json
import urllib.request
import uuid

import pytest
from wagtail.models import APIToken

from places.models import GroupRole
from realtime import sequence
from tests.factories import field, publish_form
from tests.faults.conftest import session_cookie, wait_for
from tests.faults.live_client import ClientsThread, LiveClient
from tests.forms_engine.conftest import home  # noqa: F401 - fixture
from tests.workflows.conftest import burst
from workflows.models import Event
from workflows.outbox import relay_pending

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

TEST_RESULT = [
    field("person", "Người được xét nghiệm", "patient", required=True, role="person", birth="year"),
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


def post_json(url: str, body: dict, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - our own test server
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - our own test server
        return response.status, json.load(response)


def run_jobs() -> None:
    """The scheduler's relay and a worker's burst, in this process (on the same Redis)."""
    for _ in range(6):
        relay_pending()
        burst()
        if not Event.objects.filter(done_at=None).exists():
            return
    raise AssertionError("events left undone")


def test_a_page_on_one_process_hears_of_a_submission_sent_to_the_other(
    asgi_servers,
    area_tree,
    make_user,
    home,  # noqa: F811
):
    first, second = asgi_servers
    form = publish_form(
        home, slug="xet-nghiem", fields=TEST_RESULT, area=area_tree["province"], kind="testing"
    )
    leader = make_user("lanhdao.tinh", area=area_tree["province"], role=GroupRole.ROLE_LEADER)
    sampler = make_user("laymau", area=area_tree["province"], role=GroupRole.ROLE_FIELD_STAFF)
    _token, key = APIToken.create_token(user=sampler, name="phone")
    cookie = session_cookie(leader)
    # The same session on both processes: sessions live in the database, not in a process.
    on_first, on_second = LiveClient(first, cookie, "56"), LiveClient(second, cookie, "56")
    clients = ClientsThread([on_first, on_second])
    clients.start()
    try:
        assert wait_for(lambda: on_first.seq is not None and on_second.seq is not None, timeout=15)
        before = sequence.current("56")

        status, body = post_json(
            f"{second.base_url}/api/v1/forms/{form.slug}/submissions",
            {
                "client_id": str(uuid.uuid4()),
                "data": {
                    "patient": {"full_name": "Lê Văn Tám", "birth_year": 1984},
                    "result": "positive",
                    "area": "22711-02",
                },
            },
            {"Authorization": f"Bearer {key}"},
        )
        assert (status, body["status"]) == (201, "accepted")
        run_jobs()

        assert wait_for(lambda: len(on_first.events) >= 2, timeout=10), "process 1's page heard nothing"
    finally:
        clients.stop()
    kinds = {event["type"] for event in on_first.events}
    assert {"counts.changed", "case.new"} <= kinds
    case = next(event for event in on_first.events if event["type"] == "case.new")
    assert (case["area"], case["origin"], case["case"]["level"]) == ("56", "22711-02", "F0")
    assert [event["seq"] for event in on_first.events] == list(range(before + 1, sequence.current("56") + 1))
    # The page on process 2 heard the same events with the same numbers.
    assert [event["seq"] for event in on_second.events] == [event["seq"] for event in on_first.events]
    assert on_first.connections == on_second.connections == 1
