"""POST /api/v1/forms/{slug}/submissions and friends, as DESIGN.md's contract says."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wagtail.models import APIToken

from forms_engine.models import Submission
from tests.asgi_client import AsgiClient

VALID = {"traveller": {"full_name": "Trần Thị Bình", "birth_year": 1990}, "direction": "out"}
CHANGED = {**VALID, "traveller": {"full_name": "Trần Thị Bình", "birth_year": 1991}}


def post(client, form, data, *, client_id=None, **headers):
    body = {"client_id": str(client_id or uuid.uuid4()), "data": data}
    return client.post(
        f"/api/v1/forms/{form.slug}/submissions", json.dumps(body), content_type="application/json", **headers
    )


class LaneClient(AsgiClient):
    """Through website/asgi.py; every request these tests send must be the lane's to serve."""

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        assert response.served_by == "lane"
        return response


@pytest.fixture(params=["django", pytest.param("lane", marks=pytest.mark.django_db(transaction=True))])
def make_client(request):
    """Each submission test runs twice: through Django's view and through the ingest lane."""
    if request.param == "django":
        return Client
    request.getfixturevalue("postgres")
    return LaneClient


@pytest.mark.django_db
class TestContract:
    def test_created_then_replayed_then_conflicting(self, make_client, checkpoint_form, bearer):
        client, client_id = make_client(), uuid.uuid4()

        first = post(client, checkpoint_form, VALID, client_id=client_id, **bearer)
        again = post(client, checkpoint_form, VALID, client_id=client_id, **bearer)
        changed = post(client, checkpoint_form, CHANGED, client_id=client_id, **bearer)

        assert first.status_code == 201
        assert first.json() == {"id": first.json()["id"], "client_id": str(client_id), "status": "accepted"}
        assert again.status_code == 200 and again.json() == first.json()
        assert changed.status_code == 409
        assert Submission.objects.count() == 1

    def test_submission_records_version_submitter_area_and_source(
        self, make_client, checkpoint_form, bearer, officer, area_tree
    ):
        response = post(
            make_client(), checkpoint_form, {**VALID, "direction": "in", "destination": "22711-02"}, **bearer
        )
        submission = Submission.objects.get(pk=response.json()["id"])
        assert submission.version.number == 1
        assert submission.submitted_by == officer
        assert submission.token.name == "Điện thoại chốt QL1A"
        assert submission.area == area_tree["dong_cau"]
        assert submission.source == "api"

    def test_invalid_data_gives_400_keyed_errors_and_stores_nothing(
        self, make_client, checkpoint_form, bearer
    ):
        response = post(make_client(), checkpoint_form, {**VALID, "direction": "up", "phone": "1"}, **bearer)
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"direction", "phone"}
        assert not Submission.objects.exists()

    def test_errors_follow_accept_language(self, make_client, checkpoint_form, bearer):
        english = post(
            make_client(), checkpoint_form, {"direction": "out"}, HTTP_ACCEPT_LANGUAGE="en", **bearer
        )
        vietnamese = post(make_client(), checkpoint_form, {"direction": "out"}, **bearer)
        assert english.json()["errors"]["traveller"] == ["This field is required."]
        assert vietnamese.json()["errors"]["traveller"] == ["Trường này là bắt buộc."]

    def test_staff_form_needs_login(self, make_client, checkpoint_form):
        assert post(make_client(), checkpoint_form, VALID).status_code == 401
        bad_token = post(make_client(), checkpoint_form, VALID, HTTP_AUTHORIZATION="Bearer wagtail_nope")
        assert bad_token.status_code == 401

    def test_revoked_token_is_refused(self, make_client, checkpoint_form, officer):
        token, plaintext = APIToken.create_token(user=officer, name="Mất máy")
        token.revoke()
        assert (
            post(make_client(), checkpoint_form, VALID, HTTP_AUTHORIZATION=f"Bearer {plaintext}").status_code
            == 401
        )

    def test_session_needs_the_csrf_token(self, checkpoint_form, officer):
        client = Client(enforce_csrf_checks=True)
        client.force_login(officer)
        assert post(client, checkpoint_form, VALID).status_code == 401
        client.get("/api/v1/forms")  # any page sets no cookie by itself: fetch one explicitly
        from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

        secret = _get_new_csrf_string()
        client.cookies["csrftoken"] = secret
        response = post(client, checkpoint_form, VALID, HTTP_X_CSRFTOKEN=_mask_cipher_secret(secret))
        assert response.status_code == 201

    def test_staff_outside_the_forms_area_cannot_use_it(self, make_client, checkpoint_form, make_user, db):
        from places.models import Area

        elsewhere = Area.add_root(code="01", name="Thành phố Hà Nội", level_label="Thành phố")
        stranger = make_user("hanoi", area=elsewhere)
        _token, plaintext = APIToken.create_token(user=stranger, name="x")
        # 404, not 401: a form outside the caller's area does not exist for them (issue 9).
        assert (
            post(make_client(), checkpoint_form, VALID, HTTP_AUTHORIZATION=f"Bearer {plaintext}").status_code
            == 404
        )

    def test_picked_area_outside_the_officers_area_is_refused(self, make_client, checkpoint_form, bearer):
        response = post(
            make_client(), checkpoint_form, {**VALID, "direction": "in", "destination": "22384"}, **bearer
        )
        assert response.status_code == 400
        assert "destination" in response.json()["errors"]

    def test_unknown_form_is_404(self, make_client, db):
        response = make_client().post(
            "/api/v1/forms/khong-co/submissions", "{}", content_type="application/json"
        )
        assert response.status_code == 404

    def test_oversize_body_is_refused(self, make_client, checkpoint_form, bearer, settings):
        settings.SUBMISSION_MAX_BYTES = 1000
        response = post(make_client(), checkpoint_form, {**VALID, "note": "x" * 2000}, **bearer)
        assert response.status_code == 413
        assert not Submission.objects.exists()

    @pytest.mark.parametrize(
        "body",
        [b"not json", b"[]", b'{"data": {}}', b'{"client_id": "123", "data": {}}', b"\xff\xfe"],
    )
    def test_malformed_bodies_are_400(self, make_client, checkpoint_form, bearer, body):
        response = make_client().post(
            f"/api/v1/forms/{checkpoint_form.slug}/submissions",
            body,
            content_type="application/json",
            **bearer,
        )
        assert response.status_code == 400
        assert "errors" in response.json()


@pytest.mark.django_db
class TestPublicForm:
    def test_anonymous_declaration_with_qr_records_the_place(self, make_client, public_form, area_tree):
        from places.models import Place

        venue = Place.objects.create(
            kind=Place.KIND_VENUE, name="Chợ Đầm", area=area_tree["vinh_luong"], code="DD-CHODAM"
        )
        data = {
            "person": {"full_name": "Lê Văn Cường", "birth_year": 1970, "phone": "0912345678"},
            "consent": True,
        }
        body = {"client_id": str(uuid.uuid4()), "data": data, "qr": "dd-chodam"}
        response = make_client().post(
            f"/api/v1/forms/{public_form.slug}/submissions", json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 201
        submission = Submission.objects.get()
        assert submission.place == venue
        assert submission.area == area_tree["vinh_luong"]
        assert submission.data["person"]["phone"] == "+84912345678"

    def test_rate_limit_answers_429_with_retry_after(self, make_client, public_form, settings):
        settings.RATE_LIMITS = {"public-submit": (3, 60)}
        from django.core.cache import cache

        cache.clear()
        client = make_client(REMOTE_ADDR="10.9.8.7")
        statuses = [post(client, public_form, {"consent": True}).status_code for _ in range(5)]
        assert statuses[:3] == [400, 400, 400]
        assert statuses[3:] == [429, 429]
        response = post(client, public_form, {"consent": True})
        assert 1 <= int(response["Retry-After"]) <= 60
        other_ip = post(make_client(REMOTE_ADDR="10.9.8.8"), public_form, {"consent": True})
        assert other_ip.status_code == 400


@pytest.mark.django_db
class TestReads:
    def test_forms_list_and_schema(self, checkpoint_form, public_form, bearer):
        anonymous = Client().get("/api/v1/forms").json()
        assert [f["slug"] for f in anonymous] == ["khai-bao-y-te"]
        staff = Client().get("/api/v1/forms", **bearer).json()
        assert {f["slug"] for f in staff} == {"khai-bao-y-te", "khai-bao-tai-chot"}
        schema = Client().get(f"/api/v1/forms/{checkpoint_form.slug}", **bearer).json()
        assert schema["version"] == 1
        assert schema["submit_url"] == f"/api/v1/forms/{checkpoint_form.slug}/submissions"
        keys = [f["key"] for f in schema["fields"]]
        assert keys[1:4] == ["traveller", "direction", "destination"]
        assert Client().get(f"/api/v1/forms/{checkpoint_form.slug}").status_code == 401

    def test_submissions_are_scoped_to_the_callers_area(self, checkpoint_form, bearer, make_user, area_tree):
        post(Client(), checkpoint_form, {**VALID, "direction": "in", "destination": "22711-02"}, **bearer)
        nha_trang = make_user("nhatrang", area=area_tree["nha_trang"])
        _t, other = APIToken.create_token(user=nha_trang, name="x")
        mine = Client().get("/api/v1/submissions", **bearer).json()
        theirs = Client().get("/api/v1/submissions", HTTP_AUTHORIZATION=f"Bearer {other}").json()
        anonymous = Client().get("/api/v1/submissions").json()
        assert mine["count"] == 1 and mine["items"][0]["area"] == "22711-02"
        assert theirs["count"] == 0
        assert anonymous["count"] == 0

    def test_area_children_for_cascading_pickers(self, area_tree):
        children = Client().get("/api/v1/areas", {"parent": "570"}).json()
        assert [(a["code"], a["has_children"]) for a in children] == [("22453", False), ("22711", True)]

    def test_staff_pickers_show_their_area_and_the_way_down_to_it(self, area_tree, bearer):
        top = Client().get("/api/v1/areas", {"parent": "56"}, **bearer).json()
        below = Client().get("/api/v1/areas", {"parent": "570"}, **bearer).json()
        assert [a["code"] for a in top] == ["570"]  # Cam Lâm, not Nha Trang
        assert [a["code"] for a in below] == ["22453", "22711"]

    def test_openapi_document_lists_the_endpoints(self, db):
        paths = Client().get("/api/v1/openapi.json").json()["paths"]
        answers = paths["/api/v1/forms/{slug}/submissions"]["post"]["responses"]
        assert {"201", "200", "400", "409", "429", "503"} <= set(answers)
        assert "/api/v1/submissions/mine" in paths


@pytest.mark.django_db(transaction=True)
def test_five_concurrent_identical_posts_make_one_row(make_client, postgres, checkpoint_form, bearer):
    client_id = uuid.uuid4()

    def send(_):
        from django.db import connection

        try:
            return post(make_client(), checkpoint_form, VALID, client_id=client_id, **bearer).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = sorted(pool.map(send, range(5)))
    assert statuses == [200, 200, 200, 200, 201]
    assert Submission.objects.filter(client_id=client_id).count() == 1
    changed = post(make_client(), checkpoint_form, CHANGED, client_id=client_id, **bearer)
    assert changed.status_code == 409


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
field_keys = st.sampled_from(
    [
        "traveller",
        "direction",
        "destination",
        "checkpoint",
        "temperature",
        "count",
        "arrival_date",
        "symptoms",
        "phone",
        "national_id",
        "location",
        "photo",
        "companions",
        "plate",
        "hour",
        "passed_at",
        "zzz",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(field_keys, json_values, max_size=8))
def test_fuzzed_submissions_never_5xx_and_errors_name_fields(make_client, checkpoint_form, bearer, data):
    response = post(make_client(), checkpoint_form, data, **bearer)
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        # A sent field, or one the form requires (always, or because of what was sent).
        required = {"traveller", "direction", "destination"}  # destination: when direction is "in"
        for path in response.json()["errors"]:
            assert path == "__all__" or path.split(".")[0] in data or path in required
