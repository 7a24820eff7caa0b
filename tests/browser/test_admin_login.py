"""A province admin logs into the Vietnamese admin in Chromium and finds the areas."""

import pytest

from places.models import GroupRole
from website.demo.load import demo_home_page_ensure

pytestmark = pytest.mark.browser

PASSWORD = "Mat-khau-2021"


@pytest.fixture
def province_admin(area_tree, make_user):
    return make_user(
        "quantri.tinh", area=area_tree["province"], role=GroupRole.ROLE_PROVINCE_ADMIN, password=PASSWORD
    )


def test_admin_login_in_vietnamese_then_areas_listing(live_asgi_server, page, province_admin, tmp_path):
    page.goto(f"{live_asgi_server}/admin/")

    assert page.locator("html").get_attribute("lang") == "vi"
    assert "Đăng nhập" in page.locator("h1").inner_text()
    page.fill("#id_username", "quantri.tinh")
    page.fill("#id_password", PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{live_asgi_server}/admin/")

    page.goto(f"{live_asgi_server}/admin/areas/?q=cam+lam")
    rows = page.locator("table.listing tbody tr")
    assert rows.count() == 1
    assert "Huyện Cam Lâm" in rows.first.inner_text()
    page.screenshot(path=str(tmp_path / "areas.png"), full_page=True)


def test_wrong_password_is_refused_in_vietnamese(live_asgi_server, page, province_admin):
    page.goto(f"{live_asgi_server}/admin/login/")
    page.fill("#id_username", "quantri.tinh")
    page.fill("#id_password", "sai-mat-khau")
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()
    assert "/admin/login/" in page.url
    assert page.locator(".help-critical, .messages .error, [role=alert]").count() >= 1


def test_home_page_fits_a_360_px_phone(live_asgi_server, phone_page):
    demo_home_page_ensure()
    phone_page.goto(f"{live_asgi_server}/")
    assert "Outbreak Desk" in phone_page.title()
    overflow = phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


def test_place_location_is_picked_on_a_map_without_a_cdn(live_asgi_server, page, province_admin, area_tree):
    from places.models import Place

    place = Place.objects.create(
        kind=Place.KIND_CHECKPOINT,
        name="Chốt QL1A",
        area=area_tree["suoi_tan"],
        location=Place.location_from(12.1, 109.08),
    )
    outside_requests = []
    page.on(
        "request",
        lambda request: (
            outside_requests.append(request.url)
            if not request.url.startswith(live_asgi_server) and "tile" not in request.url
            else None
        ),
    )
    page.goto(f"{live_asgi_server}/admin/login/")
    page.fill("#id_username", "quantri.tinh")
    page.fill("#id_password", PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{live_asgi_server}/admin/")

    page.goto(f"{live_asgi_server}/admin/places/edit/{place.pk}/")
    page.wait_for_selector(".leaflet-container .leaflet-marker-icon")
    assert outside_requests == []
