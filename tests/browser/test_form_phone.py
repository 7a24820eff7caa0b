"""Field staff fill a checkpoint form on a 360-px phone: conditions, areas, a repeat group."""

import json

import pytest

from forms_engine.models import Submission
from places.models import GroupRole, Place

from .forms import CHECKPOINT_FIELDS, field, log_in, open_form, publish_form, wait_for_submissions

pytestmark = pytest.mark.browser


@pytest.fixture
def checkpoint_form(wagtail_root, area_tree):
    from website.demo.load import demo_home_page_ensure

    home = demo_home_page_ensure()
    return publish_form(
        home,
        slug="khai-bao-tai-chot",
        title="Khai báo tại chốt kiểm soát",
        fields=CHECKPOINT_FIELDS,
        area=area_tree["province"],
    )


@pytest.fixture
def officer_page(live_asgi_server, phone_page, checkpoint_form, area_tree, make_user):
    """The phone, logged in as field staff of Huyện Cam Lâm, on the checkpoint form."""
    make_user(
        "canbo.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_FIELD_STAFF, password="Mat-khau-2021"
    )
    log_in(phone_page, live_asgi_server, "canbo.camlam", next_url=checkpoint_form.url)
    open_form(phone_page, f"{live_asgi_server}{checkpoint_form.url}")
    return phone_page


def top_field(page, key):
    return page.locator(f"#fe-form > [data-key={key}]")


def horizontal_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def fill_traveller(page):
    person = page.locator("[data-key=traveller]")
    person.get_by_label("Họ và tên").fill("Nguyễn Văn An")
    person.get_by_label("Năm sinh").fill("1985")
    person.get_by_label("Nam", exact=True).check()


def choose_stay_area(page):
    """Huyện Cam Lâm › Xã Suối Tân › (its only village, taken for a required field)."""
    levels = page.locator("[data-key=stay_area] select")
    levels.nth(0).select_option(label="Huyện Cam Lâm")
    levels.nth(1).select_option(label="Xã Suối Tân")
    page.wait_for_function(  # a function, not an expression: the CSP forbids eval in the page
        "() => document.querySelectorAll('[data-key=stay_area] select').length === 3"
        " && document.querySelectorAll('[data-key=stay_area] select')[2].value === '22711-02'"
    )


def add_companions(page, people):
    group = page.locator("[data-key=companions]")
    for name, phone in people:
        group.get_by_role("button", name="+ Thêm người đi cùng").click()
        item = group.locator("fieldset.fe-item").last
        item.get_by_label("Họ tên").fill(name)
        item.get_by_label("Điện thoại", exact=True).fill(phone)


def test_checkpoint_declaration_with_condition_and_companions(officer_page):
    page = officer_page

    fill_traveller(page)
    reason = page.locator("[data-key=reason]")
    assert reason.is_hidden()
    page.get_by_role("radio", name="Vào tỉnh").check()
    assert reason.is_visible()
    reason.get_by_label("Lý do vào tỉnh").fill("Về quê")
    page.get_by_role("radio", name="Ra tỉnh").check()
    assert reason.is_hidden()  # typed, then hidden again: it must not be sent
    choose_stay_area(page)
    top_field(page, "phone").get_by_label("Số điện thoại").fill("0912 345 678")
    page.get_by_label("Nhiệt độ (°C)").fill("36,8")
    page.get_by_role("checkbox", name="Sốt").check()
    add_companions(page, [("Trần Thị Bình", "0987654321"), ("Nguyễn Văn Cường", "")])
    assert page.locator("[data-key=companions] fieldset.fe-item legend").all_inner_texts() == [
        "Người đi cùng 1",
        "Người đi cùng 2",
    ]
    assert horizontal_overflow(page) <= 0

    page.get_by_role("button", name="Gửi", exact=True).click()

    result = page.locator("#form-result")
    result.get_by_role("heading", name="Đã gửi").wait_for()
    assert "Đã ghi nhận" in result.inner_text()
    [submission] = wait_for_submissions(1, page=page)
    assert submission.source == Submission.SOURCE_WEB
    assert submission.area.code == "22711-02"
    data = submission.data
    assert "reason" not in data
    assert data["direction"] == "out"
    assert data["traveller"] == {"full_name": "Nguyễn Văn An", "birth_year": 1985, "sex": "male"}
    assert data["phone"] == "+84912345678"
    assert data["temperature"] == 36.8
    assert data["symptoms"] == ["sot"]
    assert data["companions"] == [
        {"name": "Trần Thị Bình", "phone": "+84987654321"},
        {"name": "Nguyễn Văn Cường"},
    ]
    assert page.locator("#form-app").get_attribute("data-pending") == "0"


def test_required_fields_left_empty_are_refused_in_vietnamese(officer_page):
    page = officer_page

    page.get_by_role("button", name="Gửi", exact=True).click()

    summary = page.locator("#form-summary")
    summary.wait_for()
    assert "chưa đúng" in summary.inner_text()
    name_input = page.locator("[data-key=traveller]").get_by_label("Họ và tên")
    name_error = page.locator(f"#{name_input.get_attribute('id')}-err")
    assert "Bắt buộc" in name_error.inner_text()
    assert name_input.get_attribute("aria-invalid") == "true"
    # Focus is on the first field in error, so a keyboard user starts there.
    assert page.evaluate("document.activeElement.id") == name_input.get_attribute("id")
    direction_error = page.locator("[data-key=direction] .fe-error")
    assert "Bắt buộc" in direction_error.inner_text()
    assert Submission.objects.count() == 0
    assert page.locator("#outbox").is_hidden()  # nothing invalid is queued either
    # Correcting a field clears its message.
    name_input.fill("Lê Văn Dũng")
    assert name_error.is_hidden()
    assert horizontal_overflow(page) <= 0


def test_phone_layout_fits_360_px_with_big_touch_targets(officer_page):
    page = officer_page
    page.get_by_role("radio", name="Vào tỉnh").check()
    add_companions(page, [("Trần Thị Bình", "0987654321")])

    assert page.viewport_size["width"] == 360
    assert horizontal_overflow(page) <= 0
    small = page.evaluate(
        """(selector) => Array.from(document.querySelectorAll(selector))
            .filter((el) => el.offsetParent !== null)
            .map((el) => [el.id || el.textContent.trim(), el.getBoundingClientRect().height])
            .filter(([, height]) => height < 44)""",
        "#fe-form .fe-input, #fe-form .fe-button, #fe-form .fe-option",
    )
    assert small == []
    # Every input has a real <label for>.
    unlabelled = page.evaluate(
        """() => Array.from(document.querySelectorAll('#fe-form input, #fe-form select, #fe-form textarea'))
            .filter((el) => el.type !== 'hidden' && !document.querySelector(`label[for="${el.id}"]`))
            .map((el) => el.outerHTML)"""
    )
    assert unlabelled == []


def test_server_errors_show_next_to_dotted_fields_and_wait_for_correction(officer_page):
    page = officer_page
    fill_traveller(page)
    page.get_by_role("radio", name="Ra tỉnh").check()
    choose_stay_area(page)
    top_field(page, "phone").get_by_label("Số điện thoại").fill("0912345678")
    add_companions(page, [("Trần Thị Bình", "0987654321"), ("Phạm Văn Em", "0905123456")])
    refusal = {
        "errors": {
            "companions.1.phone": ["Số này đã bị khóa."],
            "traveller.full_name": ["Tên không khớp CCCD."],
        }
    }

    def refuse(route):
        if route.request.method == "POST":
            route.fulfill(status=400, content_type="application/json", body=json.dumps(refusal))
        else:
            route.continue_()

    page.route("**/api/v1/forms/*/submissions", refuse)
    page.get_by_role("button", name="Gửi", exact=True).click()

    second_phone = page.locator("[data-key=companions] fieldset.fe-item").nth(1).locator("[data-key=phone]")
    second_phone.get_by_text("Số này đã bị khóa.").wait_for()
    assert "Tên không khớp CCCD." in page.locator("[data-key=traveller] [data-key=full_name]").inner_text()
    assert page.evaluate("document.activeElement.closest('[data-key]').dataset.key") == "full_name"
    held = page.locator("#outbox-list li")
    assert held.count() == 1 and held.first.get_attribute("data-status") == "needs_fix"
    assert "Cần sửa lại" in held.first.inner_text()
    client_id = held.first.get_attribute("data-client-id")
    assert Submission.objects.count() == 0

    # Corrected and sent again: the same client_id reaches the server, and the outbox empties.
    page.unroute("**/api/v1/forms/*/submissions", refuse)
    page.locator("[data-key=companions] fieldset.fe-item").nth(1).get_by_label("Điện thoại", exact=True).fill(
        "0905123457"
    )
    page.get_by_role("button", name="Gửi", exact=True).click()
    page.locator("#form-result").get_by_role("heading", name="Đã gửi").wait_for()
    [submission] = wait_for_submissions(1, page=page)
    assert str(submission.client_id) == client_id
    assert submission.data["companions"][1]["phone"] == "+84905123457"
    page.wait_for_selector("#outbox", state="hidden")


DECLARATION_FIELDS = [
    field("person", "Người khai", "person", required=True, role="person", birth="year", require_phone=True),
    field("place", "Địa điểm", "venue", required=True, role="place", kinds=["checkpoint", "venue"]),
    field("geopoint", "Vị trí hiện tại", "location"),
    field("yes_no", "Đồng ý cho xử lý dữ liệu cá nhân", "consent", required=True, role="consent"),
]


@pytest.fixture
def declaration_form(checkpoint_form, area_tree):
    return publish_form(
        checkpoint_form.get_parent(),
        slug="khai-bao-y-te",
        title="Khai báo y tế điện tử",
        fields=DECLARATION_FIELDS,
        area=area_tree["province"],
        kind="health_declaration",
        public=True,
    )


@pytest.fixture
def checkpoint_place(area_tree):
    return Place.objects.create(
        kind=Place.KIND_CHECKPOINT,
        name="Chốt QL1A Cam Lâm",
        area=area_tree["suoi_tan"],
        location=Place.location_from(12.1, 109.08),
    )


def fill_declarant(page):
    person = page.locator("[data-key=person]")
    person.get_by_label("Họ và tên").fill("Võ Thị Hoa")
    person.get_by_label("Năm sinh").fill("1979")
    person.get_by_label("Số điện thoại").fill("0935 111 222")
    page.locator("[data-key=consent]").get_by_role("radio", name="Có").check()


def test_citizen_declares_by_qr_with_the_place_locked_and_gps(
    live_asgi_server, phone_page, declaration_form, checkpoint_place
):
    page = phone_page
    page.context.grant_permissions(["geolocation"], origin=live_asgi_server)
    page.context.set_geolocation({"latitude": 12.10312, "longitude": 109.08456, "accuracy": 12})
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_asgi_server) else None)
    open_form(page, f"{live_asgi_server}{declaration_form.url}?qr={checkpoint_place.code.lower()}")

    assert "Chốt QL1A Cam Lâm" in page.locator("#qr-banner").inner_text()
    venue = page.locator("[data-key=venue]").get_by_label("Địa điểm")
    assert venue.input_value() == "Chốt QL1A Cam Lâm"
    assert venue.get_attribute("readonly") is not None
    page.get_by_role("button", name="Lấy vị trí hiện tại").click()
    location = page.locator("[data-key=location]")
    location.get_by_text("Vĩ độ 12.10312, kinh độ 109.08456").wait_for()
    location.locator(".leaflet-container .fe-pin").wait_for()  # the map, with no tile server
    fill_declarant(page)
    assert horizontal_overflow(page) <= 0

    page.get_by_role("button", name="Gửi", exact=True).click()

    page.locator("#form-result").get_by_role("heading", name="Đã gửi").wait_for()
    [submission] = wait_for_submissions(1, page=page)
    assert submission.place == checkpoint_place
    assert submission.submitted_by is None
    assert submission.data["venue"] == checkpoint_place.code
    assert submission.data["location"] == {"lat": 12.10312, "lng": 109.08456, "accuracy": 12.0}
    assert submission.data["person"]["phone"] == "+84935111222"
    assert submission.data["consent"] is True
    assert outside == []  # no CDN, no tiles configured


def test_place_picker_lists_the_places_of_the_form_area(
    live_asgi_server, phone_page, declaration_form, checkpoint_place
):
    page = phone_page
    Place.objects.create(
        kind=Place.KIND_TESTING_SITE, name="Điểm xét nghiệm Cam Đức", area=checkpoint_place.area
    )
    open_form(page, f"{live_asgi_server}{declaration_form.url}")

    venue = page.locator("[data-key=venue]").get_by_label("Địa điểm")
    page.wait_for_function("() => document.querySelectorAll('[data-key=venue] option').length === 2")
    assert venue.locator("option").all_inner_texts() == ["— Chọn địa điểm —", "Chốt QL1A Cam Lâm"]
    venue.select_option(label="Chốt QL1A Cam Lâm")
    fill_declarant(page)
    page.get_by_role("button", name="Gửi", exact=True).click()

    page.locator("#form-result").get_by_role("heading", name="Đã gửi").wait_for()
    [submission] = wait_for_submissions(1, page=page)
    assert submission.place == checkpoint_place
    assert "location" not in submission.data


def test_staff_form_asks_an_anonymous_visitor_to_log_in(live_asgi_server, phone_page, checkpoint_form):
    page = phone_page
    page.goto(f"{live_asgi_server}{checkpoint_form.url}")

    message = page.locator(".fe-login")
    assert "Vui lòng đăng nhập" in message.inner_text()
    link = message.get_by_role("link", name="Đăng nhập")
    assert link.get_attribute("href") == f"/admin/login/?next={checkpoint_form.url}"
    assert page.locator("#fe-form").count() == 0
    assert page.locator("#form-schema").count() == 0  # the schema is not shown either
