"""A test request opens the testing form with its person filled in, areas included."""

import pytest

from places.models import GroupRole
from tracing import testing
from tracing.models import Person
from tracing.models import TestRequest as SampleRequest  # a name pytest does not collect

from .forms import field, log_in, open_form, publish_form

pytestmark = pytest.mark.browser

TESTING_FIELDS = [
    field("person", "Người được xét nghiệm", "person", required=True, role="person", birth="either"),
    field(
        "single_choice",
        "Kết quả",
        "result",
        required=True,
        role="test_result",
        choices=[{"value": "negative", "label": "Âm tính"}, {"value": "positive", "label": "Dương tính"}],
    ),
]


def test_the_testing_form_opens_with_the_requests_person(
    live_asgi_server, phone_page, wagtail_root, area_tree, make_user
):
    from website.demo.load import demo_home_page_ensure

    form = publish_form(
        demo_home_page_ensure(),
        slug="ket-qua-xet-nghiem",
        fields=TESTING_FIELDS,
        area=area_tree["province"],
        kind="testing",
    )
    person = Person.objects.create(
        full_name="Nguyễn Thị Lan",
        name_folded="nguyen thi lan",
        birth_year=1988,
        sex="female",
        phone="+84905123456",
        home_area=area_tree["dong_cau"],
    )
    [pk] = testing.requests_open([person.pk], SampleRequest.REASON_F1)
    make_user(
        "xetnghiem.camlam",
        area=area_tree["cam_lam"],
        role=GroupRole.ROLE_FIELD_STAFF,
        password="Mat-khau-2021",
    )
    url = testing.prefill_url(SampleRequest.objects.get(pk=pk))
    assert url == f"{form.url}?test_request={pk}"
    log_in(phone_page, live_asgi_server, "xetnghiem.camlam", next_url=url, password="Mat-khau-2021")
    open_form(phone_page, f"{live_asgi_server}{url}")

    box = phone_page.locator("[data-key=person]")
    assert box.get_by_label("Họ và tên").input_value() == "Nguyễn Thị Lan"
    assert box.get_by_label("Năm sinh").input_value() == "1988"
    assert box.get_by_label("Nữ", exact=True).is_checked()
    # Huyện Cam Lâm › Xã Suối Tân › Thôn Đồng Cau, each level loaded and chosen in turn.
    chosen = "[...document.querySelectorAll('[data-key=person] select')].map((s) => s.value).join('/')"
    phone_page.wait_for_function(f"() => {chosen} === '570/22711/22711-02'")
