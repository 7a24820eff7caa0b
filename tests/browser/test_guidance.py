"""A guide on a 360-px phone: nothing wider than the screen (a wide table wraps or scrolls in
its own box), the form link's QR code shown, and the index's accent-free search from its form."""

import pytest
from wagtail.models import Site

from tests.factories import publish_form
from tests.forms_engine.conftest import CHECKPOINT_FIELDS
from website.models import GuidanceIndexPage, GuidancePage, HomePage

pytestmark = pytest.mark.django_db(transaction=True)

WIDE_TABLE = {
    "first_row_is_table_header": True,
    "first_col_is_header": False,
    "data": [
        ["Địa bàn", "Số người khai báo", "Số người cách ly tại nhà", "Số người cách ly tập trung", "Ghi chú"],
        ["Xã Vĩnh Lương, thành phố Nha Trang", "1.204", "37", "12", "Đã rà soát đủ danh sách"],
    ],
}


@pytest.fixture
def guide(live_asgi_server, wagtail_root, area_tree):
    Site.clear_site_root_paths_cache()
    home = HomePage(title="Trang chủ", slug="trang-chu", issuing_body="Ban Chỉ đạo tỉnh Khánh Hòa")
    wagtail_root.add_child(instance=home)
    Site.objects.update_or_create(
        is_default_site=True, defaults={"hostname": "localhost", "root_page": home, "site_name": "OD"}
    )
    form = publish_form(home, slug="khai-bao-tai-chot", fields=CHECKPOINT_FIELDS, area=area_tree["province"])
    index = home.add_child(instance=GuidanceIndexPage(title="Hướng dẫn", slug="huong-dan"))
    index.save_revision().publish()
    guide = index.add_child(
        instance=GuidancePage(
            title="Hướng dẫn khai báo tại chốt kiểm soát",
            slug="khai-bao-tai-chot-kiem-soat",
            tool="checkpoint",
            body=[
                {"type": "heading", "value": {"text": "Các bước", "level": "h2"}},
                {"type": "paragraph", "value": "<p>Cán bộ tại chốt ghi nhận người qua chốt.</p>"},
                {"type": "table", "value": WIDE_TABLE},
                {"type": "form_link", "value": {"form": form.pk, "text": "Mở phiếu khai báo"}},
            ],
        )
    )
    guide.save_revision().publish()
    yield f"{live_asgi_server}/huong-dan/"
    Site.clear_site_root_paths_cache()


def test_a_guide_fits_a_phone_and_shows_the_forms_qr(phone_page, guide):
    phone_page.goto(f"{guide}khai-bao-tai-chot-kiem-soat/")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360
    qr = phone_page.locator("svg.qr").bounding_box()
    assert qr and 100 <= qr["width"] <= 360
    table_box = phone_page.locator(".table-wrap").bounding_box()
    assert table_box["width"] <= 360
    assert (
        phone_page.get_by_role("link", name="Mở phiếu khai báo")
        .get_attribute("href")
        .endswith("/khai-bao-tai-chot/")
    )


def test_the_index_finds_a_guide_typed_without_accents(phone_page, guide):
    phone_page.goto(guide)
    phone_page.locator("input[name=q]").fill("khai bao tai chot")
    phone_page.locator("input[name=q]").press("Enter")
    phone_page.wait_for_url("**/huong-dan/?q=*")
    assert phone_page.get_by_role("link", name="Hướng dẫn khai báo tại chốt kiểm soát").is_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360
