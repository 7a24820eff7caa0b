"""The live pages (MapPage, DashboardPage, PublicMapPage) as the server renders them: who may
open them, on which area and dates, and what their scripts are handed — never a person's data
on the public page."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from django.utils.html import escape

from places.models import GroupRole, Place
from tracing.models import Person
from website import live
from website.demo.live_pages import demo_live_pages_load
from website.demo.load import demo_home_page_ensure
from website.models import DashboardPage, MapPage, PublicMapPage

PASSWORD = "pass-1234-word"


@pytest.fixture
def pages(wagtail_root, area_tree):
    home = demo_home_page_ensure()
    demo_live_pages_load(home=home, province_code="56")
    return {
        "map": MapPage.objects.get(),
        "dashboard": DashboardPage.objects.get(),
        "public": PublicMapPage.objects.get(),
    }


@pytest.fixture
def leader(make_user, area_tree):
    return make_user("lanhdao.tinh", area=area_tree["province"], role=GroupRole.ROLE_LEADER)


@pytest.fixture
def district_leader(make_user, area_tree):
    return make_user("lanhdao.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_LEADER)


@pytest.fixture
def f0_in_cam_lam(area_tree):
    return Person.objects.create(
        full_name="Trần Văn Bệnh",
        name_folded="tran van benh",
        birth_year=1990,
        phone="+84905000111",
        national_id="056090001234",
        home_area=area_tree["dong_cau"],
        level="F0",
        level_at=timezone.now(),
    )


def config_of(response) -> dict:
    match = re.search(
        r'<script id="live-config" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    assert match, "the page hands its script no configuration"
    return json.loads(match.group(1))


def open_page(client, user, page, query=""):
    client.force_login(user)
    return client.get(f"{page.url}{query}")


# --- Who may open them ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["map", "dashboard"])
def test_staff_pages_send_anonymous_visitors_to_the_login(client, pages, name):
    response = client.get(pages[name].url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("name", ["map", "dashboard"])
def test_a_user_without_an_area_is_told_so(client, pages, make_user, name):
    response = open_page(client, make_user("no.area"), pages[name])
    assert response.status_code == 403
    assert escape(str(live.ERROR_NO_AREA)) in response.content.decode()


def test_the_map_opens_on_the_pages_area_for_a_province_leader(client, pages, leader, area_tree):
    response = open_page(client, leader, pages["map"])
    assert response.status_code == 200
    config = config_of(response)
    assert config["kind"] == "map"
    assert config["area"]["code"] == "56"
    assert [area["code"] for area in config["trail"]] == ["56"]
    assert {area["code"] for area in config["children"]} == {"570", "568"}
    assert config["api"] == {
        "dashboard": "/api/v1/dashboard",
        "cases": "/api/v1/map/cases",
        "areas": "/api/v1/map/areas",
    }
    assert config["socket"] == "/ws/live/"
    assert config["tiles"]["url"]  # the test settings' local path; empty would mean no tiles


def test_the_dashboard_draws_five_charts_with_translated_labels(client, pages, leader):
    response = open_page(client, leader, pages["dashboard"])
    html = response.content.decode()
    for name, caption in live.DASHBOARD_CHARTS:
        assert f'id="chart-{name}"' in html
        assert escape(str(caption)) in html
    assert config_of(response)["labels"]["cases_f0"] == str(live.LABELS["cases_f0"])


def test_a_district_user_opens_on_their_district_not_the_pages_province(client, pages, district_leader):
    config = config_of(open_page(client, district_leader, pages["dashboard"]))
    assert config["area"]["code"] == "570"
    assert [area["code"] for area in config["trail"]] == ["570"]


def test_drilling_down_by_url_shows_the_trail_from_the_users_own_area(client, pages, district_leader):
    config = config_of(open_page(client, district_leader, pages["dashboard"], "?area=22711-02"))
    assert [area["code"] for area in config["trail"]] == ["570", "22711", "22711-02"]


@pytest.mark.parametrize("code", ["568", "22384", "56", "nope", "' OR 1=1 --"])
def test_an_area_outside_the_users_scope_is_not_found(client, pages, district_leader, code):
    response = open_page(client, district_leader, pages["map"], f"?area={code}")
    assert response.status_code == 404


# --- Dates ---------------------------------------------------------------------------------


def test_the_range_defaults_to_the_pages_days_up_to_today(client, pages, leader):
    config = config_of(open_page(client, leader, pages["dashboard"]))
    today = timezone.localdate()
    assert config["to"] == today.isoformat()
    assert config["from"] == (today - timedelta(days=29)).isoformat()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?from=yesterday", live.ERROR_BAD_DATE),
        ("?to=2021-02-30", live.ERROR_BAD_DATE),
        ("?from=2021-08-20&to=2021-08-01", live.ERROR_RANGE_REVERSED),
        ("?from=2020-01-01&to=2021-08-01", live.ERROR_RANGE_TOO_LONG),
    ],
)
def test_bad_dates_answer_400_with_a_message(client, pages, leader, query, message):
    response = open_page(client, leader, pages["dashboard"], query)
    assert response.status_code == 400
    assert escape(str(message)) in response.content.decode()


def test_a_range_in_the_url_is_handed_to_the_script(client, pages, leader):
    config = config_of(open_page(client, leader, pages["map"], "?from=2021-08-01&to=2021-08-20"))
    assert (config["from"], config["to"]) == ("2021-08-01", "2021-08-20")


# --- Layers and persons --------------------------------------------------------------------


def test_a_leader_without_the_right_to_see_persons_gets_f0_only(client, pages, leader):
    config = config_of(open_page(client, leader, pages["map"]))
    assert config["layers"]["f1"] is False
    assert config["layers"]["quarantine"] is False
    assert config["layers"]["shown"]["f1"] is False
    assert config["personUrl"] == ""


def test_a_user_who_may_see_persons_gets_contacts_and_the_case_link(client, pages, leader):
    leader.user_permissions.add(
        Permission.objects.get(codename="view_person", content_type__app_label="tracing")
    )
    config = config_of(open_page(client, leader, pages["map"]))
    assert config["layers"]["f1"] is True
    assert config["layers"]["shown"]["f1"] is True  # the demo map shows contacts when allowed
    assert re.fullmatch(r"/admin/.+/\{id\}/", config["personUrl"])


def test_the_map_lists_checkpoints_and_facilities_of_the_users_scope_only(
    client, pages, district_leader, area_tree
):
    point = Place.location_from(12.0, 109.1)
    Place.objects.create(
        kind=Place.KIND_CHECKPOINT,
        name="Chốt Cam Lâm",
        area=area_tree["suoi_tan"],
        location=point,
        code="CK-CAM",
    )
    Place.objects.create(
        kind=Place.KIND_QUARANTINE_FACILITY,
        name="Khu cách ly Nha Trang",
        area=area_tree["vinh_luong"],
        location=point,
        capacity=50,
        code="CL-NT",
    )
    Place.objects.create(
        kind=Place.KIND_VENUE, name="Chợ Suối Tân", area=area_tree["suoi_tan"], location=point, code="DD-CHO"
    )
    config = config_of(open_page(client, district_leader, pages["map"]))
    assert [(p["code"], p["kind"], p["lat"], p["lng"]) for p in config["places"]] == [
        ("CK-CAM", "checkpoint", 12.0, 109.1)
    ]


def test_no_page_carries_a_persons_data(client, pages, leader, f0_in_cam_lam):
    for page in pages.values():
        html = open_page(client, leader, page).content.decode()
        for detail in (f0_in_cam_lam.full_name, f0_in_cam_lam.phone, f0_in_cam_lam.national_id):
            assert detail not in html


# --- The public map ------------------------------------------------------------------------


def test_the_public_map_opens_without_login_and_reads_counts_only(client, pages, f0_in_cam_lam):
    response = client.get(pages["public"].url)
    assert response.status_code == 200
    config = config_of(response)
    assert config["kind"] == "public"
    assert config["api"] == {"areas": "/api/v1/map/areas"}  # no cases, no dashboard
    assert "socket" not in config and "places" not in config and "personUrl" not in config
    assert config["area"]["code"] == "56"
    html = response.content.decode()
    for detail in (f0_in_cam_lam.full_name, f0_in_cam_lam.phone, f0_in_cam_lam.national_id):
        assert detail not in html
    assert "live.js" in html and "leaflet.markercluster" not in html


def test_the_public_map_ignores_area_and_date_parameters(client, pages):
    config = config_of(client.get(f"{pages['public'].url}?area=22711&from=garbage"))
    assert config["area"]["code"] == "56"
    assert config["to"] == timezone.localdate().isoformat()


def test_demo_live_pages_load_twice_without_duplicates(pages):
    home = demo_home_page_ensure()
    demo_live_pages_load(home=home, province_code="56")
    assert MapPage.objects.count() == DashboardPage.objects.count() == PublicMapPage.objects.count() == 1
    assert all(page.live and page.get_latest_revision() for page in pages.values())
