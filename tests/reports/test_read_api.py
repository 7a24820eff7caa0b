"""The dashboard and map APIs: numbers from the counters, scoped to the caller's area (404
outside it), bad parameters refused with a clear 400 that changes nothing."""

import json
from datetime import date

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from places.models import GroupRole
from reports import selectors
from reports.models import DailyCount
from tests.reports.conftest import accept, handle, local_noon, pending
from tracing import changes
from tracing.models import Classification, Person, QuarantineOrder

pytestmark = pytest.mark.django_db

DAY = date(2021, 8, 10)
RANGE = {"from": "2021-08-01", "to": "2021-08-10"}


@pytest.fixture
def counted(area_tree, counted_forms):
    """A positive test in Đồng Cau (Cam Lâm), a declaration in Vĩnh Lương (Nha Trang), a new F0
    and F1 of Đồng Cau, a facility order in Cam Lâm: all handled."""
    village = area_tree["dong_cau"]
    accept(
        counted_forms["testing"],
        {"test_type": "rt_pcr_don", "result": "positive", "sample_date": str(DAY)},
        area=village,
        day=DAY,
    )
    accept(counted_forms["health_declaration"], {}, area=area_tree["vinh_luong"], day=DAY)
    accept(
        counted_forms["vaccination"],
        {"vaccine": "pfizer", "dose": "1", "vaccination_date": "2021-08-09"},
        area=village,
        day=DAY,
    )
    case, contact = (Person.objects.create(full_name=n, name_folded=n, home_area=village) for n in ("a", "b"))
    rows = [
        Classification.objects.create(person=case, level_from="", level="F0", created_at=local_noon(DAY)),
        Classification.objects.create(person=contact, level_from="", level="F1", created_at=local_noon(DAY)),
    ]
    changes.classified([row.pk for row in rows])
    order = QuarantineOrder.objects.create(
        person=contact,
        kind="facility",
        area=area_tree["cam_lam"],
        start_date=DAY,
        planned_end=date(2021, 8, 24),
    )
    changes.orders_changed([order.pk], changes.ORDERS_STARTED)
    handle(pending())
    return {"case": case, "contact": contact}


def client_of(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def leaders(area_tree, make_user):
    return {
        "province": make_user("lanhdao", area=area_tree["province"], role=GroupRole.ROLE_LEADER),
        "cam_lam": make_user("lanhdao.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_LEADER),
        "nha_trang": make_user("lanhdao.nhatrang", area=area_tree["nha_trang"], role=GroupRole.ROLE_LEADER),
        "approver": make_user("pheduyet.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER),
        "nobody": make_user("khongvung"),
    }


def test_the_dashboard_of_a_district_opens_on_its_own_area(counted, leaders):
    response = client_of(leaders["cam_lam"]).get("/api/v1/dashboard", RANGE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["area"]["code"] == "570"
    assert [child["code"] for child in body["area"]["children"]] == ["22711", "22453"]
    assert body["headline"]["cases_f0"] == {"today": 1, "yesterday": 0, "total": 1}
    assert body["headline"]["f1"]["today"] == 1 and body["headline"]["positive"]["total"] == 1
    assert body["headline"]["doses"] == {"today": 0, "yesterday": 1, "total": 1}
    assert body["headline"]["quarantine_facility_active"] == 1
    assert body["series"]["dates"][0] == "2021-08-01" and len(body["series"]["dates"]) == 10
    assert body["series"]["tests"][-1] == 1 and body["series"]["declarations"] == [0] * 10  # Nha Trang's
    assert body["series"]["quarantine_facility_active"] == [0] * 9 + [1]
    by_child = {row["code"]: row for row in body["by_child"]}
    assert by_child["22711"]["cases_f0"] == 1 and by_child["22453"]["cases_f0"] == 0
    assert isinstance(body["seq"], int)


def test_the_map_shows_each_checkpoints_passages_on_the_last_day(counted_forms, area_tree, leaders):
    """The dashboard's ``checkpoints`` (the map's checkpoint markers): in and out by place on
    the range's last day, for the checkpoints within the area asked for."""
    from places.models import Place

    district = area_tree["cam_lam"]
    gate = Place.objects.create(kind=Place.KIND_CHECKPOINT, name="Chốt Cam Đức", area=area_tree["cam_duc"])
    other = Place.objects.create(
        kind=Place.KIND_CHECKPOINT, name="Chốt Vĩnh Lương", area=area_tree["vinh_luong"]
    )
    checkpoint = counted_forms["checkpoint"]
    for direction, day in (("in", DAY), ("in", DAY), ("out", DAY), ("in", date(2021, 8, 9))):
        data = {"direction": direction, "origin": "79"}
        accept(checkpoint, data, area=district, day=day, place=gate)
    accept(
        checkpoint, {"direction": "in", "origin": "79"}, area=area_tree["vinh_luong"], day=DAY, place=other
    )
    handle(pending())
    body = client_of(leaders["cam_lam"]).get("/api/v1/dashboard", RANGE).json()
    assert body["checkpoints"] == [{"place": gate.code, "name": "Chốt Cam Đức", "in": 2, "out": 1}]
    assert body["headline"] and body["series"]["checkpoint_in"][-2:] == [1, 2]
    province = client_of(leaders["province"]).get("/api/v1/dashboard", RANGE).json()
    assert {row["place"]: row["in"] for row in province["checkpoints"]} == {gate.code: 2, other.code: 1}


def test_a_kept_answer_is_read_again_once_the_area_changes(
    counted, leaders, area_tree, counted_forms, settings, django_capture_on_commit_callbacks
):
    """Answers are kept per area, range and live seq: a change (its live event moves the seq)
    is in the next answer; without one, the kept answer is served."""
    from django.core.cache import cache

    cache.clear()
    settings.DASHBOARD_CACHE_SECONDS = 30
    client = client_of(leaders["cam_lam"])
    first = client.get("/api/v1/dashboard", RANGE).json()
    DailyCount.objects.filter(metric="tests", key="").update(value=99)  # no event: kept answer
    assert client.get("/api/v1/dashboard", RANGE).json() == first
    accept(counted_forms["health_declaration"], {}, area=area_tree["dong_cau"], day=DAY)
    with django_capture_on_commit_callbacks(execute=True):
        handle(pending())  # counted, and published after commit: the district's seq moves
    after = client.get("/api/v1/dashboard", RANGE).json()
    assert after["seq"] > first["seq"]
    assert after["headline"]["tests"]["today"] == 99 and after["series"]["declarations"][-1] == 1


def test_the_province_sees_everything_and_coverage_needs_a_population(counted, leaders, area_tree):
    area_tree["suoi_tan"].population = 4  # the province's population: its children's, then theirs
    area_tree["suoi_tan"].save()
    area_tree["cam_lam"].population = 10
    area_tree["cam_lam"].save()
    body = client_of(leaders["province"]).get("/api/v1/dashboard", RANGE).json()
    assert body["headline"]["coverage_one_dose"] == 0.1 and body["headline"]["coverage_two_doses"] == 0.0
    assert sum(body["series"]["declarations"]) == 1
    district = client_of(leaders["province"]).get("/api/v1/dashboard", {**RANGE, "area": "22711"}).json()
    assert district["headline"]["coverage_one_dose"] == 0.25


def test_an_area_outside_the_callers_answers_404_and_anonymous_401(counted, leaders):
    nha_trang = client_of(leaders["nha_trang"])
    for url in ("/api/v1/dashboard", "/api/v1/map/cases"):
        assert nha_trang.get(url, {"area": "570"}).status_code == 404
        assert nha_trang.get(url, {"area": "22711-02"}).status_code == 404
        assert nha_trang.get(url, {"area": "no-such"}).status_code == 404
        assert client_of(leaders["nobody"]).get(url).status_code == 404
        assert Client().get(url).status_code == 401


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "10/08/2021"}, selectors.BAD_DATE),
        ({"to": "2021-02-30"}, selectors.BAD_DATE),
        ({"from": "2021-08-10", "to": "2021-08-01"}, selectors.FROM_AFTER_TO),
        ({"from": "2020-01-01", "to": "2021-08-01"}, selectors.RANGE_TOO_LONG),
        ({"from": "'; DROP TABLE reports_dailycount; --"}, selectors.BAD_DATE),
    ],
)
def test_bad_dates_are_refused_clearly_and_change_nothing(counted, leaders, params, message):
    before = list(DailyCount.objects.order_by("pk").values_list("pk", "value"))
    for url in ("/api/v1/dashboard", "/api/v1/map/cases", "/api/v1/map/areas"):
        response = client_of(leaders["province"]).get(url, params)
        assert response.status_code == 400
        with translation.override("vi"):  # the API answers in Vietnamese by default
            assert response.json() == {"detail": str(message)}
    assert list(DailyCount.objects.order_by("pk").values_list("pk", "value")) == before


def test_the_case_map_shows_f0_to_leaders_and_contacts_only_to_who_may_view_persons(counted, leaders):
    leader = client_of(leaders["cam_lam"]).get("/api/v1/map/cases", {**RANGE, "layers": "f0,f1,quarantine"})
    assert leader.status_code == 200
    features = leader.json()["features"]
    assert [(f["properties"]["id"], f["properties"]["kind"]) for f in features] == [
        (counted["case"].pk, "case")
    ]
    assert "name" not in json.dumps(features[0]["properties"]).replace('"name": "Th', "")  # area names only
    approver = client_of(leaders["approver"]).get(
        "/api/v1/map/cases", {**RANGE, "layers": "f0,f1,quarantine"}
    )
    kinds = sorted(f["properties"]["kind"] for f in approver.json()["features"])
    assert kinds == ["case", "contact", "quarantine"]
    assert client_of(leaders["nha_trang"]).get("/api/v1/map/cases", RANGE).json()["features"] == []
    bad = client_of(leaders["cam_lam"]).get("/api/v1/map/cases", {"layers": "f0,persons"})
    assert bad.status_code == 400


def test_the_public_area_map_has_counts_and_outlines_only(counted, area_tree, tmp_path):
    outline = {
        "type": "Polygon",
        "coordinates": [[[109.1, 12.0], [109.2, 12.0], [109.2, 12.1], [109.1, 12.0]]],
    }
    geojson = tmp_path / "xa.geojson"
    geojson.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {"code": "22711"}, "geometry": outline},
                    {"type": "Feature", "properties": {"code": "99999"}, "geometry": outline},
                ],
            }
        )
    )
    call_command("load_boundaries", str(geojson))
    call_command("load_boundaries", str(geojson))  # again: replaced, not duplicated
    response = Client().get("/api/v1/map/areas", RANGE)
    assert response.status_code == 200
    features = {f["properties"]["code"]: f for f in response.json()["features"]}
    assert set(features) == {"22711", "22453", "22384"}
    assert features["22711"]["geometry"] == outline and features["22711"]["properties"]["cases_f0"] == 1
    assert features["22453"]["geometry"] is None
    assert set(features["22711"]["properties"]) == {
        "code",
        "name",
        "cases_f0",
        "cases_f1",
        "tests",
        "tests_positive",
        "doses",
    }


def test_a_bad_boundary_file_loads_nothing(area_tree, tmp_path):
    from django.core.management.base import CommandError

    from reports.models import AreaBoundary

    geojson = tmp_path / "bad.geojson"
    geojson.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"code": "22711"},
                        "geometry": {"type": "Point", "coordinates": [1, 2]},
                    },
                ],
            }
        )
    )
    with pytest.raises(CommandError):
        call_command("load_boundaries", str(geojson))
    assert not AreaBoundary.objects.exists()


def test_the_endpoints_are_in_the_openapi_document(db):
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/dashboard", "/api/v1/map/cases", "/api/v1/map/areas"} <= set(paths)
    assert "from" in {p["name"] for p in paths["/api/v1/dashboard"]["get"]["parameters"]}
