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
    html = client.get(reverse("submissions:list")).content.decode()
    assert reverse("submissions:inspect", args=[submissions["Nguyễn Văn Một"].pk]) in html
    assert reverse("submissions:inspect", args=[submissions["Trần Thị Hai"].pk]) not in html
    found = client.get(reverse("submissions:list"), {"q": "Văn Một"}).content.decode()
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


def test_export_has_a_column_per_key_a_label_row_and_no_formulas(client, submissions, make_user, area_tree):
    import csv
    import io

    from openpyxl import load_workbook

    submission = submissions["Trần Thị Hai"]
    submission.data["traveller"]["full_name"] = '=HYPERLINK("http://x")'
    submission.save()
    client.force_login(make_user("qt", area=area_tree["province"], role=GroupRole.ROLE_PROVINCE_ADMIN))
    form = submission.form
    listing = client.get(reverse("submissions:list"), {"form": form.pk}).content.decode()
    csv_url = reverse("submission_export", args=[form.pk, "csv"])
    assert csv_url in listing

    response = client.get(csv_url)  # streamed (forms_engine/exports.py)
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:2] == ["id", "client_id"] and "traveller.full_name" in rows[0]
    assert "Người khai báo – Họ và tên" in rows[1]
    names = {row[rows[0].index("traveller.full_name")] for row in rows[2:]}
    assert names == {"Nguyễn Văn Một", '\'=HYPERLINK("http://x")'}

    workbook = load_workbook(
        io.BytesIO(client.get(reverse("submission_export", args=[form.pk, "xlsx"])).content)
    )
    assert workbook.active.max_row == 4


def test_export_is_scoped_to_the_users_area(client, submissions, make_user, area_tree):
    # An approver: names are personal columns, exported only to those who may see persons.
    client.force_login(make_user("pd", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER))
    form = submissions["Trần Thị Hai"].form
    response = client.get(reverse("submission_export", args=[form.pk, "csv"]))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Nguyễn Văn Một" in body and "Trần Thị Hai" not in body
