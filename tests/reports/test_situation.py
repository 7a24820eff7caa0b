"""The daily situation report: its PDF parsed back (pages, Vietnamese names, the headline
numbers against the counters), its SVG charts, the daily schedule, scope on the report and its
document, a real RQ worker rendering a request, and a failed render that stores nothing."""

import asyncio
import re
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from datetime import datetime, time, timedelta
from io import BytesIO

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django import forms
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader
from wagtail.documents import get_document_model

from places.folding import fold
from places.models import Area, GroupRole
from realtime.publish import area_group, user_group
from reports import metrics
from reports.charts import Series, bar_chart
from reports.metrics import Count
from reports.models import DailyCount, SituationReport
from reports.services import counts_add
from reports.situation import HEADLINE_ROWS, situation_context, situation_pdf
from reports.situation_jobs import (
    REPORT_REQUESTED,
    progress_of,
    report_render,
    situation_report_request,
    situation_reports_due,
)
from reports.views import DATE_IN_FUTURE, DATE_TOO_OLD
from tests.conftest import require
from tests.workflows.conftest import burst, queues  # noqa: F401 - fixture
from workflows.models import Event
from workflows.outbox import relay_pending

pytestmark = pytest.mark.django_db

LEADER, FIELD_STAFF = GroupRole.ROLE_LEADER, GroupRole.ROLE_FIELD_STAFF
COMMUNE_NAMES = ("Xã Ứng Hòa", "Phường Lộc Thọ", "Thị trấn Diên Khánh", "Xã Suối Tiên", "Xã Ninh Hưng")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def pdf_text(content: bytes) -> str:
    require(shutil.which("pdftotext") is not None, "needs pdftotext (poppler-utils)")
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True)
    return nfc(done.stdout.decode("utf-8"))


def big_province(districts: int = 10, communes: int = 200) -> Area:
    """A province of ``districts`` districts sharing ``communes`` communes, with Vietnamese
    names, inserted in bulk (materialised paths computed here, as treebeard would)."""
    province = Area.add_root(code="99", name="Tỉnh Đắk Lắk Thử Nghiệm", level_label="Tỉnh")
    per_district = communes // districts
    rows = []
    for d in range(districts):
        district_path = Area._get_path(province.path, 2, d + 1)
        rows.append(
            area_row(district_path, f"9{d:02d}", f"Huyện Krông Ắk {d + 1}", "Huyện", children=per_district)
        )
        for c in range(per_district):
            number = d * per_district + c + 1
            name = f"{COMMUNE_NAMES[number % len(COMMUNE_NAMES)]} {number}"
            rows.append(area_row(Area._get_path(district_path, 3, c + 1), f"99{number:03d}", name, "Xã"))
    Area.objects.bulk_create(rows)
    Area.objects.filter(pk=province.pk).update(numchild=districts)
    return Area.objects.get(pk=province.pk)


def area_row(path: str, code: str, name: str, level_label: str, *, children: int = 0) -> Area:
    return Area(
        path=path,
        depth=len(path) // Area.steplen,
        numchild=children,
        code=code,
        name=name,
        name_folded=fold(name),
        level_label=level_label,
    )


def counts_on(area: Area, day, values: dict) -> None:
    """Counters of ``area`` (and, rolled up, every area above it) as the handlers add them."""
    counts_add(Count(area.pk, day, metric, key, value) for (metric, key), value in values.items() if value)


def counter(area, day, metric, key="") -> int:
    row = DailyCount.objects.filter(area=area, date=day, metric=metric, key=key).first()
    return row.value if row else 0


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the PDF ----------------------------------------------------------------------------------


def test_a_province_of_many_communes_prints_on_several_pages_with_its_names_intact():
    province = big_province()
    day = timezone.localdate()
    communes = list(Area.objects.filter(depth=3).order_by("path"))
    for index, commune in enumerate(communes[::7]):
        counts_on(commune, day, {(metrics.CASES[0], ""): index % 4, (metrics.TESTS, "rt_pcr"): 10 + index})

    content = situation_pdf(province, day)

    pages = len(PdfReader(BytesIO(content)).pages)
    assert pages > 1
    text = pdf_text(content)
    assert "Tỉnh Đắk Lắk Thử Nghiệm" in text
    assert "Huyện Krông Ắk 10" in text
    assert Area.find_problems() == ([], [], [], [], [])
    for commune in communes[::19] + communes[-1:]:
        assert nfc(commune.name) in text, commune.name


def test_the_headline_numbers_are_the_counters_of_the_day_and_the_day_before(area_tree):
    province, suoi_tan, vinh_luong = area_tree["province"], area_tree["suoi_tan"], area_tree["vinh_luong"]
    day = timezone.localdate() - timedelta(days=1)
    before = day - timedelta(days=1)
    counts_on(
        suoi_tan,
        day,
        {
            (metrics.CASES[0], ""): 7,
            (metrics.CASES[1], ""): 23,
            (metrics.TESTS, "rt_pcr_don"): 120,
            (metrics.TESTS_POSITIVE, "rt_pcr_don"): 9,
            (metrics.DOSES, "astrazeneca|1"): 230,
            (metrics.CHECKPOINT_IN, "79"): 41,
            (metrics.MISSED_CHECKINS, ""): 2,
            (metrics.QUARANTINE_STARTED, "home"): 3,
        },
    )
    counts_on(vinh_luong, day, {(metrics.CASES[0], ""): 4, (metrics.DOSES, "pfizer|2"): 15})
    counts_on(
        suoi_tan,
        before,
        {
            (metrics.CASES[0], ""): 3,
            (metrics.TESTS, "rt_pcr_don"): 95,
            (metrics.TESTS_POSITIVE, "rt_pcr_don"): 4,
            (metrics.CHECKPOINT_IN, "79"): 52,
            (metrics.QUARANTINE_STARTED, "facility"): 5,
        },
    )

    text = pdf_text(situation_pdf(province, day))

    expected = {
        metrics.CASES[0]: (11, 3),
        metrics.CASES[1]: (23, 0),
        metrics.TESTS: (120, 95),
        metrics.TESTS_POSITIVE: (9, 4),
        metrics.DOSES: (245, 0),
        metrics.CHECKPOINT_IN: (41, 52),
        metrics.MISSED_CHECKINS: (2, 0),
    }
    for metric, (today, yesterday) in expected.items():
        # The counters themselves say so (the province's own rows), and so does the paper.
        assert (counter(province, day, metric), counter(province, before, metric)) == (today, yesterday)
        label = str(dict((name, label) for label, name in HEADLINE_ROWS)[metric])
        assert headline_line(text, label) == [str(today), str(yesterday), change(today - yesterday)]
    rows = dict((name, label) for label, name in HEADLINE_ROWS)
    assert headline_line(text, str(rows["quarantine_facility_active"])) == ["5", "5", "0"]
    assert headline_line(text, str(rows["quarantine_home_active"])) == ["3", "0", "+3"]
    assert "Xã Suối Tân" in text and "Huyện Cam Lâm" in text and "Thành phố Nha Trang" in text


def change(difference: int) -> str:
    return f"+{difference}" if difference > 0 else f"−{-difference}" if difference else "0"


def headline_line(text: str, label: str) -> list[str]:
    """The three numbers of the headline table's row of ``label`` (the first such row)."""
    for line in text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] == label and len(cells) == 4:
            return cells[1:]
    raise AssertionError(f"no headline row {label!r}")


def test_the_context_reads_the_dashboard_numbers_not_submissions(area_tree, django_assert_max_num_queries):
    day = timezone.localdate()
    counts_on(area_tree["cam_duc"], day, {(metrics.CASES[0], ""): 2})
    with django_assert_max_num_queries(25):
        context = situation_context(area_tree["province"], day)
    assert context["headline"][0]["today"] == "2"
    districts, communes = context["tables"]
    assert (len(districts.rows), len(communes.rows)) == (2, 3)
    assert sum(1 for row in communes.rows if row["group"]) == 2  # a heading a district


# --- charts -----------------------------------------------------------------------------------


def test_an_svg_chart_escapes_its_labels_and_stays_well_formed():
    hostile = '"><script>alert(1)</script>&'
    svg = bar_chart(
        [hostile, "02/08"],
        [Series(f"F0 {hostile}", [3, 0]), Series("F1", [1, 2])],
        title=f"Ca mới <b>{hostile}</b>",
        line=Series(f"Tỷ lệ {hostile}", [0.5, 0.25]),
        line_percent=True,
    )

    assert "<script>" not in svg and "<b>" not in svg
    root = ET.fromstring(svg)  # noqa: S314 - well-formed: nothing escaped the markup
    texts = ["".join(node.itertext()) for node in root.iter("{http://www.w3.org/2000/svg}text")]
    assert hostile in texts
    assert f"Ca mới <b>{hostile}</b>" in texts
    assert root.get("aria-label") == f"Ca mới <b>{hostile}</b>"
    assert len(root.findall("{http://www.w3.org/2000/svg}rect")) >= 3  # bars and legend keys


def test_a_chart_of_nothing_but_zeros_still_draws():
    svg = bar_chart(["01/08", "02/08"], [Series("F0", [0, 0])], title="Không có ca")
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"  # noqa: S314 - ours


# --- the schedule -----------------------------------------------------------------------------


def local(day, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def test_the_daily_schedule_run_twice_on_a_day_makes_one_report(area_tree, settings):
    settings.SITUATION_REPORT_HOUR = 7
    today = timezone.localdate()

    assert situation_reports_due(local(today, 6)) == 0
    assert situation_reports_due(local(today, 7)) == 1
    assert situation_reports_due(local(today, 9)) == 0

    report = SituationReport.objects.get()
    assert (report.area, report.date, report.status) == (
        area_tree["province"],
        today - timedelta(days=1),
        "queued",
    )
    assert Event.objects.filter(kind=REPORT_REQUESTED).count() == 1
    # The next day brings the next report.
    assert situation_reports_due(local(today + timedelta(days=1), 8)) == 1
    assert SituationReport.objects.count() == 2


def test_asking_again_returns_the_report_there_is_unless_told_to_make_it_again(area_tree, make_user):
    leader = make_user("lanhdao", area=area_tree["province"], role=LEADER)
    day = timezone.localdate()

    first, queued = situation_report_request(area=area_tree["cam_lam"], day=day, user=leader)
    assert queued
    again, queued = situation_report_request(area=area_tree["cam_lam"], day=day, user=leader)
    assert (again, queued) == (first, False)
    assert Event.objects.filter(kind=REPORT_REQUESTED).count() == 1
    _report, queued = situation_report_request(area=area_tree["cam_lam"], day=day, user=leader, again=True)
    assert queued
    assert Event.objects.filter(kind=REPORT_REQUESTED).count() == 2
    assert SituationReport.objects.count() == 1


# --- scope and rights -------------------------------------------------------------------------


@pytest.fixture
def cam_lam_report(area_tree):
    report = SituationReport.objects.create(area=area_tree["cam_lam"], date=timezone.localdate())
    report_render(report, user_id=None)
    report.refresh_from_db()
    assert report.status == SituationReport.STATUS_DONE
    return report


def test_another_districts_leader_gets_404_for_the_report_and_its_document(
    cam_lam_report, area_tree, make_user
):
    outsider = client_of(make_user("lanhdao.nhatrang", area=area_tree["nha_trang"], role=LEADER))
    insider = client_of(make_user("lanhdao.camlam", area=area_tree["cam_lam"], role=LEADER))
    province = client_of(make_user("lanhdao.tinh", area=area_tree["province"], role=LEADER))
    document = cam_lam_report.document
    download = f"/admin/situation_reports/download/{cam_lam_report.pk}/"
    wagtail_url = f"/documents/{document.pk}/{document.filename}"

    assert outsider.get(download).status_code == 404
    assert outsider.get(wagtail_url).status_code == 404
    assert Client().get(wagtail_url).status_code == 404
    assert outsider.post(f"/admin/situation_reports/again/{cam_lam_report.pk}/").status_code == 404
    status = outsider.get("/admin/situation_reports/status/", {"id": cam_lam_report.pk}).json()
    assert status == {"reports": {}}
    assert "Huyện Cam Lâm" not in outsider.get("/admin/situation_reports/").content.decode()

    for client in (insider, province):
        response = client.get(download)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert b"".join(response.streaming_content).startswith(b"%PDF")
        assert client.get(wagtail_url).status_code == 200
        assert "Huyện Cam Lâm" in client.get("/admin/situation_reports/").content.decode()


def test_field_staff_may_not_see_or_ask_for_reports(cam_lam_report, area_tree, make_user):
    staff = client_of(make_user("thucdia", area=area_tree["cam_lam"], role=FIELD_STAFF))
    document = cam_lam_report.document

    assert staff.get(f"/admin/situation_reports/download/{cam_lam_report.pk}/").status_code in (302, 403, 404)
    assert staff.get(f"/documents/{document.pk}/{document.filename}").status_code == 404
    response = staff.post(
        "/admin/situation_reports/request/", {"area": area_tree["cam_lam"].pk, "date": timezone.localdate()}
    )
    assert response.status_code in (302, 403)
    assert SituationReport.objects.count() == 1
    assert Event.objects.filter(kind=REPORT_REQUESTED).count() == 0


@pytest.mark.parametrize(
    ("area_key", "days_ahead", "message"),
    [
        (
            "vinh_luong",
            0,
            forms.ModelChoiceField.default_error_messages["invalid_choice"],
        ),  # another district's
        ("cam_duc", 1, DATE_IN_FUTURE),
        ("cam_duc", -400, DATE_TOO_OLD % {"days": 366}),
    ],
)
def test_bad_or_hostile_requests_are_refused_clearly_and_change_nothing(
    area_tree, make_user, area_key, days_ahead, message
):
    leader = client_of(make_user("lanhdao.camlam", area=area_tree["cam_lam"], role=LEADER))
    day = timezone.localdate() + timedelta(days=days_ahead)
    response = leader.post(
        "/admin/situation_reports/request/",
        {"area": area_tree[area_key].pk, "date": day.isoformat()},
        follow=True,
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any(str(message) in text for text in shown), shown
    assert SituationReport.objects.count() == 0
    assert Event.objects.filter(kind=REPORT_REQUESTED).count() == 0


def test_a_huge_or_tampered_status_query_answers_only_what_is_in_scope(cam_lam_report, area_tree, make_user):
    leader = client_of(make_user("lanhdao.camlam", area=area_tree["cam_lam"], role=LEADER))
    ids = ["x", "-1", "9" * 40, *[str(n) for n in range(200)], str(cam_lam_report.pk)]
    response = leader.get("/admin/situation_reports/status/", {"id": ids})
    assert response.status_code == 200
    assert set(response.json()["reports"]) <= {str(cam_lam_report.pk)}


# --- the job ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_renders_a_requested_report_to_the_end(
    postgres,
    queues,  # noqa: F811 - the fixture
    wagtail_root,
    area_tree,
    make_user,
):
    leader_user = make_user("lanhdao.tinh", area=area_tree["province"], role=LEADER)
    leader = client_of(leader_user)
    day = timezone.localdate()
    counts_on(area_tree["suoi_tan"], day, {(metrics.CASES[0], ""): 5})

    response = leader.post(
        "/admin/situation_reports/request/", {"area": area_tree["province"].pk, "date": day.isoformat()}
    )
    assert response.status_code == 302
    report = SituationReport.objects.get()
    assert report.status == SituationReport.STATUS_QUEUED and report.requested_by == leader_user

    relay_pending()
    burst()

    report.refresh_from_db()
    assert (report.status, report.progress, report.error) == ("done", 100, "")
    assert report.document.collection.name == "Báo cáo tình hình"
    with report.document.file.open("rb") as file:
        text = pdf_text(file.read())
    assert "Tỉnh Khánh Hòa" in text
    state = leader.get("/admin/situation_reports/status/", {"id": report.pk}).json()["reports"][
        str(report.pk)
    ]
    assert state["status"] == "done" and state["progress"] == 100 and state["download"]
    assert progress_of([report]) == {report.pk: {"status": "done", "progress": 100}}

    # Made again: the new document replaces the old one, which is gone with its file.
    old = report.document
    situation_report_request(area=report.area, day=day, user=leader_user, again=True)
    relay_pending()
    burst()
    report.refresh_from_db()
    assert report.status == "done" and report.document_id != old.pk
    assert not get_document_model().objects.filter(pk=old.pk).exists()
    assert not old.file.storage.exists(old.file.name)


def test_a_failing_render_marks_the_report_failed_and_stores_nothing(area_tree, monkeypatch, media):
    def broken(html):
        raise RuntimeError("Pango font map exploded")

    monkeypatch.setattr("reports.situation.render_pdf", broken)
    report = SituationReport.objects.create(area=area_tree["cam_lam"], date=timezone.localdate())

    result = report_render(report, user_id=None)

    report.refresh_from_db()
    assert report.status == SituationReport.STATUS_FAILED
    assert "Pango font map exploded" in report.error and result["failed"] == report.error
    assert report.document is None
    assert get_document_model().objects.count() == 0
    assert not media.exists() or not any(media.rglob("*.pdf"))


def test_storage_that_fails_leaves_no_document_behind(area_tree, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the media folder should be")
    settings.MEDIA_ROOT = blocker / "media"
    report = SituationReport.objects.create(area=area_tree["cam_lam"], date=timezone.localdate())

    report_render(report, user_id=None)

    report.refresh_from_db()
    assert report.status == SituationReport.STATUS_FAILED and report.error
    assert get_document_model().objects.count() == 0


def test_progress_goes_live_to_the_asker_and_the_ready_notice_to_the_area(
    area_tree, make_user, redis_url, django_capture_on_commit_callbacks
):
    leader = make_user("lanhdao.camlam", area=area_tree["cam_lam"], role=LEADER)
    layer = get_channel_layer()

    async def listen() -> str:
        channel = await layer.new_channel()
        await layer.group_add(user_group(leader.pk), channel)
        await layer.group_add(area_group(area_tree["cam_lam"].code), channel)
        return channel

    async def received(channel) -> list[dict]:
        events = []
        while True:
            try:
                events.append((await asyncio.wait_for(layer.receive(channel), 2))["event"])
            except TimeoutError:
                return events

    channel = async_to_sync(listen)()
    report = SituationReport.objects.create(area=area_tree["cam_lam"], date=timezone.localdate())
    with django_capture_on_commit_callbacks(execute=True):
        report_render(report, user_id=leader.pk)

    events = async_to_sync(received)(channel)
    progress = [event["progress"] for event in events if event["type"] == "report.progress"]
    assert progress == sorted(progress) and progress[0] < 100 and progress[-1] == 100
    assert [event["status"] for event in events if event["type"] == "report.progress"][-1] == "done"
    ready = [event for event in events if event["type"] == "report.ready"]
    assert [event["report"] for event in ready] == [report.pk]
    assert ready[0]["origin"] == "570"
