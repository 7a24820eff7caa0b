"""What an anonymous visitor can reach holds counts only: no name, phone, citizen ID or
address of anyone, no individual case, no situation report (those are staff's, by area)."""

import json
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from wagtail.documents import get_document_model

from places.folding import fold
from reports.certificates import certificate_token, quarantine_facts, verify_url
from reports.models import DailyCount, MapCase, SituationReport
from reports.situation_jobs import document_store
from tests.forms_engine.conftest import home, public_form  # noqa: F401 - fixtures
from tracing.models import Classification, Person, QuarantineOrder
from website.demo.live_pages import demo_live_pages_load

pytestmark = pytest.mark.django_db

FULL_NAME = "Trần Văn Bệnh"
PHONE = "+84905000111"
NATIONAL_ID = "056090001234"
ADDRESS = "12 Lê Lợi, Thôn Đồng Cau"
SECRETS = (FULL_NAME, fold(FULL_NAME), PHONE, PHONE[3:], NATIONAL_ID, ADDRESS, "Lê Lợi")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(home, public_form, area_tree, settings, tmp_path):  # noqa: F811
    """A case with everything staff hold about them, counters, live pages and a situation report."""
    settings.MEDIA_ROOT = str(tmp_path)
    demo_live_pages_load(home=home, province_code="56")
    case = Person.objects.create(
        full_name=FULL_NAME,
        name_folded=fold(FULL_NAME),
        birth_year=1990,
        phone=PHONE,
        national_id=NATIONAL_ID,
        address=ADDRESS,
        home_area=area_tree["dong_cau"],
        level="F0",
        level_at=timezone.now(),
    )
    Classification.objects.create(person=case, level_from="", level="F0", area=area_tree["dong_cau"])
    today = timezone.localdate()
    MapCase.objects.create(person=case, level="F0", date=today, area=area_tree["dong_cau"])
    for area in ("dong_cau", "suoi_tan", "cam_lam", "province"):
        DailyCount.objects.create(area=area_tree[area], date=today, metric="cases_f0", value=1)
    order = QuarantineOrder.objects.create(
        person=case,
        kind="home",
        area=area_tree["dong_cau"],
        start_date=date(2021, 8, 1),
        planned_end=date(2021, 8, 14),
        status=QuarantineOrder.STATUS_COMPLETED,
        ended_at=timezone.now() - timedelta(days=1),
    )
    report = SituationReport.objects.create(area=area_tree["province"], date=today - timedelta(days=1))
    report.document = document_store(report, f"%PDF-1.4 {FULL_NAME} {PHONE}".encode())
    report.status = SituationReport.STATUS_DONE
    report.save()
    return {"case": case, "order": order, "report": report}


def assert_nothing_personal(url: str, response) -> None:
    assert response.status_code < 500, f"{url}: {response.status_code}"
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", "replace")
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"{url} shows {leaked}"


def public_urls(client, world, area_tree) -> list[str]:
    """Every URL an anonymous visitor reaches: the site's pages (as the content API lists them),
    the content API itself, the public APIs, the certificate check, Wagtail's document URLs."""
    pages = client.get("/api/v2/pages/?limit=20").json()["items"]
    documents = client.get("/api/v2/documents/?limit=20").json()["items"]
    token = certificate_token(quarantine_facts(world["order"]))
    return [
        "/",
        *(page["meta"]["html_url"].replace("http://localhost", "") for page in pages),
        "/api/v2/pages/?limit=20&fields=*",
        *(f"/api/v2/pages/{page['id']}/" for page in pages),
        "/api/v2/images/?fields=*",
        "/api/v2/documents/?fields=*",
        *(f"/api/v2/documents/{document['id']}/" for document in documents),
        world["report"].document.url,
        f"/api/v2/documents/{world['report'].document_id}/",
        "/api/v1/forms",
        "/api/v1/forms/khai-bao-y-te",
        "/api/v1/map/areas?area=56",
        "/api/v1/map/cases?area=56",
        "/api/v1/dashboard?area=56",
        f"/api/v1/cases/{world['case'].pk}/chain",
        "/api/v1/submissions",
        "/api/v1/openapi.json",
        verify_url(token).replace("http://testserver", ""),
    ]


def test_anonymous_visitors_reach_counts_only(client, world, area_tree):
    urls = public_urls(client, world, area_tree)
    assert any("ban-do-an-toan" in url for url in urls), "the public map is listed"
    for url in urls:
        assert_nothing_personal(url, client.get(url))


def test_the_public_map_api_has_counts_per_commune_and_no_case(client, world):
    features = client.get("/api/v1/map/areas?area=56").json()["features"]
    assert features and all(set(f["properties"]) >= {"cases_f0"} for f in features)
    ids = json.dumps(features)
    assert f'"person": {world["case"].pk}' not in ids and '"level"' not in ids


@pytest.mark.parametrize("url", ["/api/v1/map/cases?area=56", "/api/v1/dashboard?area=56"])
def test_staff_apis_refuse_anonymous_callers(client, world, url):
    assert client.get(url).status_code == 401


def test_the_submissions_api_lists_nothing_to_anonymous_callers(client, world):
    assert client.get("/api/v1/submissions").json() == {"items": [], "count": 0}


def test_situation_reports_are_neither_listed_nor_served_publicly(client, world):
    document = world["report"].document
    listed = [item["id"] for item in client.get("/api/v2/documents/").json()["items"]]
    assert document.pk not in listed
    assert client.get(f"/api/v2/documents/{document.pk}/").status_code == 404
    assert client.get(document.url).status_code == 404


def test_a_report_document_without_its_report_is_not_served(client, world):
    """A report's file orphaned by a failed replacement is nobody's to download."""
    document = world["report"].document
    SituationReport.objects.filter(pk=world["report"].pk).update(document=None)
    assert client.get(document.url).status_code == 404


def test_other_documents_stay_public(client, world):
    """Guidance attachments (any collection but the reports') are the content API's to list."""
    from django.core.files.base import ContentFile

    document = get_document_model()(title="Hướng dẫn khai báo")
    document.file.save("huong-dan.pdf", ContentFile(b"%PDF-1.4 guide"), save=False)
    document.save()
    listed = [item["id"] for item in client.get("/api/v2/documents/").json()["items"]]
    assert listed == [document.pk]
