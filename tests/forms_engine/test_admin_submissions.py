"""The admin's submission listing and detail, scoped by area, with the version's labels."""

import json
import uuid

import pytest
from django.urls import reverse
from wagtail.models import APIToken

from forms_engine.models import Submission
from places.models import GroupRole

pytestmark = pytest.mark.django_db


@pytest.fixture
def submissions(checkpoint_form, make_user, area_tree):
    officer = make_user("canbo", area=area_tree["province"], role=GroupRole.ROLE_FIELD_STAFF)
    _t, key = APIToken.create_token(user=officer, name="x")
    for destination, name in (("22711-02", "Nguyễn Văn Một"), ("22384", "Trần Thị Hai")):
        body = {
            "client_id": str(uuid.uuid4()),
            "data": {
                "traveller": {"full_name": name, "birth_year": 1980, "sex": "female"},
                "direction": "in",
                "destination": destination,
                "symptoms": ["sot", "ho"],
                "companions": [{"name": "Bé Na"}],
            },
        }
        from django.test import Client

        response = Client().post(
            f"/api/v1/forms/{checkpoint_form.slug}/submissions",
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
        assert response.status_code == 201, response.content
    return {s.data["traveller"]["full_name"]: s for s in Submission.objects.all()}


def test_listing_is_scoped_and_searchable(client, submissions, make_user, area_tree):
    client.force_login(make_user("it", area=area_tree["cam_lam"], role=GroupRole.ROLE_AREA_IT_TEAM))
    html = client.get(reverse("submissions:index")).content.decode()
    assert reverse("submissions:inspect", args=[submissions["Nguyễn Văn Một"].pk]) in html
    assert reverse("submissions:inspect", args=[submissions["Trần Thị Hai"].pk]) not in html
    found = client.get(reverse("submissions:index"), {"q": "Văn Một"}).content.decode()
    assert reverse("submissions:inspect", args=[submissions["Nguyễn Văn Một"].pk]) in found
    other = client.get(reverse("submissions:inspect", args=[submissions["Trần Thị Hai"].pk]))
    assert other.status_code == 404


def test_detail_shows_the_versions_labels_not_raw_json(client, submissions, make_user, area_tree):
    client.force_login(make_user("ld", area=area_tree["province"], role=GroupRole.ROLE_LEADER))
    html = client.get(
        reverse("submissions:inspect", args=[submissions["Nguyễn Văn Một"].pk])
    ).content.decode()
    for text in (
        "Người khai báo",
        "Họ và tên",
        "Nguyễn Văn Một",
        "Nữ",
        "Vào tỉnh",
        "Sốt, Ho",
        "Thôn Đồng Cau",
    ):
        assert text in html


def test_export_csv(client, submissions, make_user, area_tree):
    client.force_login(make_user("qt", area=area_tree["province"], role=GroupRole.ROLE_PROVINCE_ADMIN))
    response = client.get(reverse("submissions:index"), {"export": "csv"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
    assert "Trần Thị Hai" in body
