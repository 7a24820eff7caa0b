"""A volunteer types paper records on the data-entry screen, by keyboard only."""

import pytest
from django.utils import translation

from forms_engine.entry import ENTRY_TEXT
from forms_engine.models import Submission
from places.models import GroupRole
from tracing.models import Person

from .forms import field, log_in, publish_form, wait_for_submissions

pytestmark = pytest.mark.browser

ENTRY_FIELDS = [
    {"type": "heading", "value": {"text": "Người được lấy mẫu"}},
    field("person", "Người được lấy mẫu", "person", required=True, role="person", birth="year"),
    field(
        "single_choice",
        "Loại xét nghiệm",
        "test_type",
        required=True,
        choices=[{"value": "pcr", "label": "RT-PCR"}, {"value": "nhanh", "label": "Test nhanh"}],
    ),
    field("date", "Ngày lấy mẫu", "sample_date", required=True, allow_future=False),
    field("long_text", "Ghi chú", "note", max_length=200),
]

# (full name, birth year, citizen ID): typed from five paper slips.
RECORDS = [
    ("Nguyễn Văn Một", "1980", "056080000001"),
    ("Trần Thị Hai", "1975", "056175000002"),
    ("Lê Văn Ba", "1990", "056090000003"),
    ("Phạm Thị Bốn", "2001", "056301000004"),
    ("Hoàng Văn Năm", "1966", "056066000005"),
]


@pytest.fixture
def entry_form(wagtail_root, area_tree):
    from website.demo.load import demo_home_page_ensure

    return publish_form(
        demo_home_page_ensure(),
        slug="phieu-lay-mau",
        title="Phiếu lấy mẫu xét nghiệm",
        fields=ENTRY_FIELDS,
        area=area_tree["province"],
        kind="custom",
    )


@pytest.fixture
def volunteer_page(live_asgi_server, phone_page, entry_form, area_tree, make_user):
    """A student volunteer of Huyện Cam Lâm (field staff: no admin), on a 360-px phone."""
    make_user(
        "sinhvien", area=area_tree["cam_lam"], role=GroupRole.ROLE_FIELD_STAFF, password="Mat-khau-2021"
    )
    url = f"/entry/{entry_form.slug}/"
    log_in(phone_page, live_asgi_server, "sinhvien", next_url=url)
    phone_page.wait_for_selector("#entry-form [data-key=person] input")
    return phone_page


def type_record(page, name, year, national_id):
    """Eleven stops, each ended by Enter: the person's parts, then the form's own fields."""
    keyboard = page.keyboard
    for text in (name, year):
        keyboard.type(text)
        keyboard.press("Enter")
    keyboard.press("1")  # sex: 1. Nam
    keyboard.press("Enter")
    keyboard.type(national_id)
    keyboard.press("Enter")
    for _skipped in ("phone", "home area", "address"):
        keyboard.press("Enter")
    keyboard.press("2")  # 2. Test nhanh
    keyboard.press("Enter")
    keyboard.type("05/08/2021")
    keyboard.press("Enter")
    keyboard.press("Enter")  # the note, left empty: Enter on the last field saves


def test_five_records_by_keyboard_only(volunteer_page):
    page = volunteer_page
    assert page.evaluate("document.activeElement.closest('[data-key]').dataset.key") == "person"
    for number, (name, year, national_id) in enumerate(RECORDS, start=1):
        type_record(page, name, year, national_id)
        # A function, not an expression: the Content-Security-Policy forbids eval in the page.
        page.wait_for_function(f"() => document.getElementById('entry-counter').textContent === '{number}'")
        # Cleared, the cursor back on the first field for the next slip.
        assert page.locator("#entry-form [data-key=person] input").first.input_value() == ""
        assert page.evaluate("document.activeElement === document.querySelector('#entry-form input')")
    saved = wait_for_submissions(5, page=page, form__slug="phieu-lay-mau")
    assert {s.status for s in saved} == {Submission.STATUS_ACCEPTED}
    assert {s.source for s in saved} == {Submission.SOURCE_WEB}
    assert sorted(s.data["person"]["full_name"] for s in saved) == sorted(r[0] for r in RECORDS)
    first = next(s for s in saved if s.data["person"]["full_name"] == "Nguyễn Văn Một")
    assert first.data["sample_date"] == "2021-08-05" and first.data["test_type"] == "nhanh"
    assert first.data["person"] == {
        "full_name": "Nguyễn Văn Một",
        "birth_year": 1980,
        "sex": "male",
        "national_id": "056080000001",
    }
    assert len({s.client_id for s in saved}) == 5
    assert page.locator("#entry-counter").text_content() == "5"
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0  # fits 360 px


def test_a_missing_required_field_shows_the_message_and_saves_nothing(volunteer_page):
    page = volunteer_page
    keyboard = page.keyboard
    keyboard.press("Enter")  # the name, required, left empty
    with translation.override("vi"):
        required = str(ENTRY_TEXT["required"])
    person = page.locator("#entry-form [data-key=person]")
    assert person.get_by_text(required).first.is_visible()
    assert page.evaluate(
        "document.activeElement === document.querySelector('#entry-form input')"
    )  # still there
    keyboard.type("Nguyễn Văn Sáu")
    keyboard.press("Enter")
    keyboard.type("1999")
    for _stop in range(7):  # on through the rest of the person, and Enter on the empty test type
        keyboard.press("Enter")
    test_type = page.locator("#entry-form [data-key=test_type]")
    assert test_type.get_by_text(required).is_visible()
    page.locator("#entry-save").click()  # saving by the button changes nothing either
    page.wait_for_timeout(500)
    assert not Submission.objects.exists()
    assert page.locator("#entry-counter").text_content() == "0"


def test_a_possible_duplicate_person_is_shown(volunteer_page, area_tree):
    Person.objects.create(
        full_name="Nguyễn Thị Hoa",
        name_folded="nguyen thi hoa",
        birth_year=1985,
        national_id="056185000777",
        home_area=area_tree["suoi_tan"],
    )
    Person.objects.create(  # in Nha Trang: outside the volunteer's district, never named
        full_name="Đỗ Văn Xa",
        name_folded="do van xa",
        birth_year=1970,
        national_id="056070000999",
        home_area=area_tree["vinh_luong"],
    )
    page = volunteer_page
    keyboard = page.keyboard
    keyboard.type("Nguyễn Thị Hoa")
    keyboard.press("Enter")
    keyboard.type("1985")
    keyboard.press("Enter")
    keyboard.press("2")
    keyboard.press("Enter")
    keyboard.type("056185000777")
    keyboard.press("Enter")
    warning = page.locator("#entry-form [data-key=person] .entry-dup")
    warning.wait_for(state="visible")
    text = warning.text_content()
    assert "N. T. H." in text and "1985" in text and "Xã Suối Tân" in text
    assert "Hoa" not in text  # initials only
    citizen_id = page.locator("#entry-form [data-key=person] input").nth(2)  # name, year, (sex), ID
    citizen_id.fill("056070000999")
    page.keyboard.press("Enter")
    page.wait_for_timeout(800)
    assert warning.is_hidden()
