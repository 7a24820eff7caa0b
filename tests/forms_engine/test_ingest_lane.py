"""The ingest lane (forms_engine/ingest.py): what it leaves to Django, and that it stores and
answers exactly as Django's view does. test_submissions_api.py runs the API contract through both."""

import json
import uuid

import pytest
from django.test import Client

from forms_engine.models import Submission, Upload
from places.models import Place
from tests.asgi_client import AsgiClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres")]

FULL = {
    "traveller": {
        "full_name": "  Nguyễn Thị Hồng  ",
        "birth_year": 1984,
        "sex": "female",
        "national_id": "056 184 000 123",
        "phone": "0905 123 456",
        "home_area": "22453",
        "address": "Thôn Tân Sơn",
    },
    "direction": "in",
    "destination": "22711-02",
    "checkpoint": "ql1a-cl",
    "plate": "79A-12345",
    "note": "Chở rau",
    "temperature": "36,8",
    "count": 2,
    "arrival_date": "2021-08-20",
    "passed_at": "2021-08-20T07:45",
    "hour": "07:45",
    "permit": True,
    "symptoms": ["ho", "ho"],
    "phone": "+84 905 123 456",
    "national_id": "056184000123",
    "location": {"lat": 12.0512345, "lng": 109.1698765, "accuracy": 8.04},
    "companions": [{"name": "Lê Văn Tâm", "phone": "0912345678"}],
}


@pytest.fixture
def checkpoint(area_tree):
    return Place.objects.create(
        kind=Place.KIND_CHECKPOINT, name="Chốt QL1A Cam Lâm", area=area_tree["suoi_tan"], code="QL1A-CL"
    )


@pytest.fixture
def photo(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    from django.core.files.base import ContentFile

    upload = Upload(content_type="image/jpeg", size=4)
    upload.file.save("anh.jpg", ContentFile(b"\xff\xd8\xff\xe0"), save=True)
    return upload


def send(client, form, data, **headers):
    body = json.dumps({"client_id": str(uuid.uuid4()), "data": data, "source": "offline"})
    return client.post(
        f"/api/v1/forms/{form.slug}/submissions", body, content_type="application/json", **headers
    )


def stored(response) -> dict:
    """The stored row's columns, but those that differ between two submissions by nature."""
    submission = Submission.objects.get(pk=response.json()["id"])
    skip = {"id", "client_id", "created_at"}
    return {
        f.attname: getattr(submission, f.attname)
        for f in Submission._meta.concrete_fields
        if f.name not in skip
    }


def test_lane_stores_every_column_as_django_does(checkpoint_form, bearer, checkpoint, photo):
    data = {**FULL, "photo": {"upload": str(photo.pk)}}
    through_django = send(Client(), checkpoint_form, data, **bearer)
    through_lane = send(AsgiClient(), checkpoint_form, data, **bearer)

    assert through_lane.served_by == "lane"
    assert through_django.status_code == through_lane.status_code == 201
    assert stored(through_lane) == stored(through_django)
    row = stored(through_lane)
    assert row["place_id"] == checkpoint.pk and row["source"] == "offline"
    assert row["data"]["traveller"]["phone"] == "+84905123456"


def test_lane_answers_errors_as_django_does(checkpoint_form, bearer, photo):
    bad = {**FULL, "destination": "22384", "checkpoint": "KHONG-CO", "photo": {"upload": str(uuid.uuid4())}}
    for headers in ({}, {"HTTP_ACCEPT_LANGUAGE": "en"}):
        through_django = send(Client(), checkpoint_form, bad, **bearer, **headers)
        through_lane = send(AsgiClient(), checkpoint_form, bad, **bearer, **headers)
        assert through_lane.status_code == through_django.status_code == 400
        assert through_lane.json() == through_django.json()
    assert not Submission.objects.exists()


def test_lane_sends_djangos_security_headers(checkpoint_form, bearer, checkpoint):
    through_django = send(Client(), checkpoint_form, FULL, **bearer)
    through_lane = send(AsgiClient(), checkpoint_form, FULL, **bearer)
    security = ("x-frame-options", "x-content-type-options", "referrer-policy", "cross-origin-opener-policy")
    assert {h: through_lane.headers.get(h) for h in security} == {h: through_django.get(h) for h in security}
    assert through_lane["content-type"].startswith("application/json")


def test_logged_in_pages_and_other_requests_go_to_django(checkpoint_form, bearer):
    path = f"/api/v1/forms/{checkpoint_form.slug}/submissions"
    with_session = AsgiClient().post(path, "{}", HTTP_COOKIE="sessionid=abc")
    other_path = AsgiClient().post(path + "/x", "{}", **bearer)
    bad_host = AsgiClient().post(path, "{}", HTTP_HOST="evil.example", **bearer)
    assert with_session.served_by == other_path.served_by == bad_host.served_by == "django"
    assert bad_host.status_code == 400
    token_and_cookie = AsgiClient().post(path, "{}", HTTP_COOKIE="sessionid=abc", **bearer)
    assert token_and_cookie.served_by == "lane"  # the token decides who is asking


def test_lane_off_leaves_everything_to_django(checkpoint_form, bearer, checkpoint, settings):
    settings.INGEST_LANE = False
    response = send(AsgiClient(), checkpoint_form, FULL, **bearer)
    assert response.served_by == "django" and response.status_code == 201


def test_database_down_answers_503_to_retry_later_and_keeps_nothing(
    checkpoint_form, bearer, checkpoint, settings
):
    from django.db import connections

    settings.INGEST_POOL_TIMEOUT = 1
    send(AsgiClient(), checkpoint_form, FULL, **bearer)  # the form is now cached by this process
    params = connections["default"].settings_dict
    port = params["PORT"]
    params["PORT"] = "1"  # nothing listens there
    try:
        response = send(AsgiClient(), checkpoint_form, FULL, **bearer)
    finally:
        params["PORT"] = port
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert Submission.objects.count() == 1
