"""A form opened once works without a network; its submissions reach the server exactly once."""

import json

import pytest

from forms_engine.models import Submission
from places.models import GroupRole

from .forms import field, log_in, open_form, publish_form, shown_if, wait_for_submissions

pytestmark = pytest.mark.browser

SUBMISSIONS = "**/api/v1/forms/*/submissions"

FIELDS = [
    field("person", "Người khai báo", "traveller", required=True, role="person", birth="year"),
    field(
        "single_choice",
        "Chiều",
        "direction",
        required=True,
        role="direction",
        choices=[{"value": "in", "label": "Vào tỉnh"}, {"value": "out", "label": "Ra tỉnh"}],
    ),
    field("short_text", "Lý do vào tỉnh", "reason", required=True, show_if=shown_if("direction", "eq", "in")),
    field(
        "repeat",
        "Người đi cùng",
        "companions",
        item_label="Người đi cùng",
        fields=[field("short_text", "Họ tên", "name", required=True)],
    ),
]


@pytest.fixture
def form(wagtail_root, area_tree):
    from website.demo.load import demo_home_page_ensure

    return publish_form(
        demo_home_page_ensure(),
        slug="khai-bao-tai-chot",
        title="Khai báo tại chốt kiểm soát",
        fields=FIELDS,
        area=area_tree["province"],
    )


@pytest.fixture
def form_url(live_asgi_server, form):
    return f"{live_asgi_server}{form.url}"


@pytest.fixture
def officer_page(live_asgi_server, phone_page, form, form_url, area_tree, make_user):
    """Field staff of Huyện Cam Lâm, logged in, with the form open and saved for offline use."""
    make_user(
        "canbo.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_FIELD_STAFF, password="Mat-khau-2021"
    )
    log_in(phone_page, live_asgi_server, "canbo.camlam", next_url=form.url)
    open_form(phone_page, form_url)
    phone_page.wait_for_selector("html[data-offline-ready=true]")
    return phone_page


def fill(page, name="Nguyễn Văn An"):
    page.locator("[data-key=traveller]").get_by_label("Họ và tên").fill(name)
    page.locator("[data-key=traveller]").get_by_label("Năm sinh").fill("1985")
    page.get_by_role("radio", name="Vào tỉnh").check()
    page.get_by_label("Lý do vào tỉnh").fill("Về quê chăm mẹ")
    page.get_by_role("button", name="+ Thêm người đi cùng").click()
    page.locator("[data-key=companions]").get_by_label("Họ tên").fill("Trần Thị Bình")


def submit(page):
    page.get_by_role("button", name="Gửi", exact=True).click()


def waiting_client_id(page) -> str:
    """The one queued item, once the page says so."""
    page.locator("#outbox-count").get_by_text("Đang chờ gửi: 1").wait_for()
    items = page.locator("#outbox-list li[data-status=pending]")
    assert items.count() == 1
    return items.first.get_attribute("data-client-id")


def test_filled_offline_then_delivered_exactly_once_when_back_online(officer_page, form_url):
    page = officer_page
    context = page.context

    context.set_offline(True)
    open_form(page, form_url)  # opened again with no network: the service worker's copy
    assert page.locator("h1").inner_text() == "Khai báo tại chốt kiểm soát"
    fill(page)
    submit(page)

    page.locator("#form-result").get_by_role("heading", name="Đã lưu trên máy, đang chờ gửi").wait_for()
    client_id = waiting_client_id(page)
    assert Submission.objects.count() == 0

    context.set_offline(False)  # the `online` event sends the outbox at once

    [submission] = wait_for_submissions(1, page=page, client_id=client_id)
    assert submission.source == Submission.SOURCE_OFFLINE
    assert submission.data == {
        "traveller": {"full_name": "Nguyễn Văn An", "birth_year": 1985},
        "direction": "in",
        "reason": "Về quê chăm mẹ",
        "companions": [{"name": "Trần Thị Bình"}],
    }
    page.wait_for_selector("#form-app[data-pending='0']")
    assert "Đã gửi 1 phiếu đang chờ." in page.locator("#outbox-notice").inner_text()
    assert page.locator("#outbox").is_hidden()
    assert Submission.objects.count() == 1


def test_queued_submission_survives_the_tab_being_closed(officer_page, form_url):
    page = officer_page
    context = page.context
    context.set_offline(True)
    fill(page, name="Lê Thị Cúc")
    submit(page)
    client_id = waiting_client_id(page)
    page.close()

    context.set_offline(False)
    again = context.new_page()
    open_form(again, form_url)  # opening any form page sends what waits

    [submission] = wait_for_submissions(1, page=again, client_id=client_id)
    assert submission.data["traveller"]["full_name"] == "Lê Thị Cúc"
    again.wait_for_selector("#form-app[data-pending='0']")


def test_lost_answer_is_retried_and_the_server_keeps_one_row(officer_page):
    """The server stores the submission but the phone never hears back: it retries, gets 200."""
    page = officer_page
    answers = []

    def lose_first_answer(route):
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch()
        answers.append(response.status)
        if len(answers) == 1:
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    page.route(SUBMISSIONS, lose_first_answer)
    fill(page)
    submit(page)
    client_id = waiting_client_id(page)
    wait_for_submissions(1, page=page, client_id=client_id)  # stored, though the phone does not know

    page.locator("#outbox").get_by_role("button", name="Gửi ngay").click()

    page.wait_for_selector("#form-app[data-pending='0']")
    assert answers == [201, 200]
    [submission] = wait_for_submissions(1, page=page)
    assert str(submission.client_id) == client_id


def test_rate_limited_submission_waits_for_retry_after(officer_page):
    page = officer_page
    statuses = []

    def busy_once(route):
        if route.request.method != "POST":
            route.continue_()
            return
        if not statuses:
            statuses.append(429)
            route.fulfill(
                status=429,
                headers={"Retry-After": "2"},
                content_type="application/json",
                body=json.dumps({"detail": "Too many submissions; try again shortly."}),
            )
            return
        response = route.fetch()
        statuses.append(response.status)
        route.fulfill(response=response)

    page.route(SUBMISSIONS, busy_once)
    fill(page)
    submit(page)

    page.locator("#form-result").get_by_text("sau khoảng 2 giây").wait_for()
    client_id = waiting_client_id(page)
    [submission] = wait_for_submissions(1, page=page, timeout=15, client_id=client_id)
    assert statuses == [429, 201]
    assert submission.source == Submission.SOURCE_WEB
    page.wait_for_selector("#form-app[data-pending='0']")


def jpeg_bytes() -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def uploads_endpoint_exists() -> bool:
    from django.urls import resolve

    return resolve("/api/v1/uploads").namespace == "api-v1"


def test_photo_is_kept_with_the_submission_until_it_can_be_uploaded(
    live_asgi_server, phone_page, wagtail_root, area_tree
):
    """The photo waits in the outbox as a Blob; it is uploaded first, then the submission sent."""
    from website.demo.load import demo_home_page_ensure

    form = publish_form(
        demo_home_page_ensure(),
        slug="anh-giay-di-duong",
        title="Ảnh giấy đi đường",
        fields=[field("file", "Ảnh giấy đi đường", "permit_photo", required=True, accept=["image/jpeg"])],
        area=area_tree["province"],
        public=True,
    )
    page = phone_page
    open_form(page, f"{live_asgi_server}{form.url}")
    photo = page.locator("[data-key=permit_photo]")
    assert photo.locator("input[type=file]").get_attribute("capture") == "environment"
    photo.locator("input[type=file]").set_input_files(
        {"name": "giay.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}
    )
    photo.locator("img.fe-preview").wait_for()
    assert "giay.jpg" in photo.inner_text()

    submit(page)

    if uploads_endpoint_exists():
        page.locator("#form-result").get_by_role("heading", name="Đã gửi").wait_for()
        [submission] = wait_for_submissions(1, page=page)
        assert set(submission.data["permit_photo"]) == {"upload"}
    else:  # the server does not take uploads yet: nothing is lost, the item waits
        page.locator("#form-result").get_by_role("heading", name="Đã lưu trên máy, đang chờ gửi").wait_for()
        waiting_client_id(page)
        stored = page.evaluate(
            """OutbreakOutbox.all().then(([item]) => ({
                blob: item.files.permit_photo.blob instanceof Blob,
                size: item.files.permit_photo.blob.size,
                upload: item.files.permit_photo.upload,
                data: item.data,
            }))"""
        )
        assert stored == {"blob": True, "size": len(jpeg_bytes()), "upload": None, "data": {}}
        assert Submission.objects.count() == 0


def test_service_worker_and_manifest_are_served_from_the_root(live_asgi_server, phone_page):
    worker = phone_page.request.get(f"{live_asgi_server}/sw.js")
    assert worker.ok
    assert worker.headers["service-worker-allowed"] == "/"
    assert worker.headers["cache-control"] == "no-cache"
    assert "javascript" in worker.headers["content-type"]
    assert '"/static/forms_engine/form.js"' in worker.text()

    manifest = phone_page.request.get(f"{live_asgi_server}/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json()["name"] == "Outbreak Desk"
    assert manifest.json()["lang"] == "vi"
