"""Abuse of the public submission endpoint and of bearer tokens, through both ways in.

Each test runs through Django's view and through the ingest lane (PostgreSQL), as the
contract tests in tests/forms_engine/test_submissions_api.py do.
"""

import json
import uuid

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from wagtail.models import APIToken

from forms_engine.intake import PLACE_RATE_LIMITED, TOKEN_GUESSING
from places.models import GroupRole, Place
from tests.asgi_client import AsgiClient
from tests.forms_engine.conftest import checkpoint_form, home, public_form  # noqa: F401 - fixtures

DECLARATION = {
    "person": {"full_name": "Lê Văn Cường", "birth_year": 1970, "phone": "0912345678"},
    "consent": True,
}


class LaneClient(AsgiClient):
    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        assert response.served_by == "lane"
        return response


@pytest.fixture(params=["django", pytest.param("lane", marks=pytest.mark.django_db(transaction=True))])
def make_client(request):
    if request.param == "django":
        return Client
    request.getfixturevalue("postgres")
    return LaneClient


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def declaration(request):
    """The public health declaration (tests/forms_engine/conftest.py's ``public_form``)."""
    return request.getfixturevalue("public_form")


@pytest.fixture
def staff_form(request):
    """A staff-only checkpoint form (``checkpoint_form``)."""
    return request.getfixturevalue("checkpoint_form")


@pytest.fixture
def market(area_tree):
    return Place.objects.create(
        kind=Place.KIND_VENUE, name="Chợ Đầm", area=area_tree["vinh_luong"], code="DD-CHODAM"
    )


def declare(client, form, *, qr="", data=None, **headers):
    body = {"client_id": str(uuid.uuid4()), "data": data or DECLARATION}
    if qr:
        body["qr"] = qr
    return client.post(
        f"/api/v1/forms/{form.slug}/submissions", json.dumps(body), content_type="application/json", **headers
    )


@pytest.mark.django_db
class TestPerPlace:
    def test_one_place_is_limited_whatever_the_ip(self, make_client, declaration, market, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "public-submit": (100, 60), "public-place": (3, 60)}
        statuses = [
            declare(make_client(REMOTE_ADDR=f"10.0.0.{n}"), declaration, qr="dd-chodam").status_code
            for n in range(5)
        ]
        assert statuses == [201, 201, 201, 429, 429]

        refused = declare(make_client(REMOTE_ADDR="10.0.1.1"), declaration, qr="DD-CHODAM")
        assert refused.status_code == 429
        assert 1 <= int(refused["Retry-After"]) <= 60

    def test_the_refusal_is_in_vietnamese_or_english(self, make_client, declaration, market, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "public-place": (0, 60)}
        vietnamese = declare(make_client(), declaration, qr="DD-CHODAM")
        english = declare(make_client(), declaration, qr="DD-CHODAM", HTTP_ACCEPT_LANGUAGE="en")
        assert vietnamese.status_code == english.status_code == 429
        assert english.json()["detail"] == "Too many submissions at this place; try again shortly."
        with translation.override("vi"):
            assert vietnamese.json()["detail"] == str(PLACE_RATE_LIMITED)

    def test_other_places_and_no_place_are_not_counted(
        self, make_client, declaration, market, area_tree, settings
    ):
        Place.objects.create(
            kind=Place.KIND_VENUE, name="Chợ Xóm Mới", area=area_tree["vinh_luong"], code="XM"
        )
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "public-submit": (100, 60), "public-place": (1, 60)}
        client = make_client()
        assert declare(client, declaration, qr="DD-CHODAM").status_code == 201
        assert declare(client, declaration, qr="DD-CHODAM").status_code == 429
        assert declare(client, declaration, qr="XM").status_code == 201
        assert declare(client, declaration).status_code == 201

    def test_staff_with_a_token_are_not_counted_per_place(
        self, make_client, declaration, market, area_tree, make_user, settings
    ):
        officer = make_user("canbo.chodam", area=area_tree["province"], role=GroupRole.ROLE_FIELD_STAFF)
        bearer = {"HTTP_AUTHORIZATION": f"Bearer {APIToken.create_token(user=officer, name='x')[1]}"}
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "public-submit": (100, 60), "public-place": (1, 60)}
        client = make_client()
        statuses = [declare(client, declaration, qr="DD-CHODAM", **bearer).status_code for _ in range(3)]
        assert statuses == [201, 201, 201]

    def test_the_per_ip_limit_still_applies(self, make_client, declaration, market, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "public-submit": (2, 60), "public-place": (100, 60)}
        client = make_client(REMOTE_ADDR="10.9.9.9")
        statuses = [declare(client, declaration, qr="DD-CHODAM").status_code for _ in range(3)]
        assert statuses == [201, 201, 429]


@pytest.mark.django_db
class TestTokenGuessing:
    def test_unknown_tokens_from_one_ip_are_refused_after_the_limit(
        self, make_client, staff_form, area_tree, make_user, settings
    ):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "token-failures": (3, 60)}
        client = make_client(REMOTE_ADDR="10.6.6.6")
        guesses = [
            declare(client, staff_form, HTTP_AUTHORIZATION=f"Bearer guess-{n}").status_code for n in range(5)
        ]
        assert guesses == [401, 401, 401, 429, 429]

        # Even a right token from that IP waits out the minute; another IP is not affected.
        officer = make_user("canbo.chot", area=area_tree["province"], role=GroupRole.ROLE_FIELD_STAFF)
        good = {"HTTP_AUTHORIZATION": f"Bearer {APIToken.create_token(user=officer, name='x')[1]}"}
        refused = declare(client, staff_form, HTTP_ACCEPT_LANGUAGE="en", **good)
        assert refused.status_code == 429
        assert refused.json()["detail"] == str(TOKEN_GUESSING)
        assert 1 <= int(refused["Retry-After"]) <= 60
        valid = {"traveller": {"full_name": "Trần Thị Bình", "birth_year": 1990}, "direction": "out"}
        assert declare(make_client(REMOTE_ADDR="10.6.6.7"), staff_form, data=valid, **good).status_code == 201

    def test_good_tokens_are_never_counted(self, make_client, staff_form, area_tree, make_user, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "token-failures": (1, 60)}
        officer = make_user("canbo.chot", area=area_tree["province"], role=GroupRole.ROLE_FIELD_STAFF)
        good = {"HTTP_AUTHORIZATION": f"Bearer {APIToken.create_token(user=officer, name='x')[1]}"}
        valid = {"traveller": {"full_name": "Trần Thị Bình", "birth_year": 1990}, "direction": "out"}
        client = make_client()
        assert [declare(client, staff_form, data=valid, **good).status_code for _ in range(3)] == [201] * 3


@pytest.mark.django_db
def test_reading_endpoints_refuse_token_guessing_too(staff_form, settings):
    """GET /api/v1/submissions goes through forms_engine.api.caller like every endpoint."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "token-failures": (2, 60)}
    client = Client(REMOTE_ADDR="10.5.5.5")
    statuses = [
        client.get("/api/v1/submissions", HTTP_AUTHORIZATION="Bearer nope").status_code for _ in range(4)
    ]
    assert statuses[2:] == [429, 429]
