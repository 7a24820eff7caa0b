"""A leader asks for a situation report on a 360-px phone in Chromium: the listing follows the
render (a real RQ worker) without a manual reload and offers the PDF."""

import pytest
from django.utils import timezone

from places.models import GroupRole
from reports.models import SituationReport
from tests.workflows.conftest import burst, queues  # noqa: F401 - fixture
from workflows.outbox import relay_pending

pytestmark = pytest.mark.browser

PASSWORD = "Mat-khau-2021"


@pytest.fixture
def leader(area_tree, make_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return make_user(
        "lanhdao.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_LEADER, password=PASSWORD
    )


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{base_url}/admin/")


def test_a_leader_makes_a_report_on_a_phone_and_the_listing_follows_it(
    live_asgi_server,
    phone_page,
    leader,
    area_tree,
    postgres,
    queues,  # noqa: F811 - the fixture
    tmp_path,
):
    page = phone_page
    log_in(page, live_asgi_server, "lanhdao.camlam")
    page.goto(f"{live_asgi_server}/admin/situation_reports/")

    form = page.locator("form.situation-request")
    options = form.locator("#id_area option").all_inner_texts()
    assert [text.strip() for text in options[1:]] == [
        "Huyện Cam Lâm (570)",
        "Xã Suối Tân (22711)",
        "Thị trấn Cam Đức (22453)",
    ]  # the district and its communes, nobody else's
    width = page.evaluate("document.querySelector('form.situation-request').scrollWidth")
    assert width <= 360
    form.locator("#id_area").select_option(str(area_tree["cam_lam"].pk))
    form.locator("button[type=submit]").click()
    page.wait_for_selector("td.situation-status[data-status=queued]")

    report = SituationReport.objects.get()
    assert (report.area, report.date) == (area_tree["cam_lam"], timezone.localdate())
    relay_pending()
    burst()  # the worker renders while the page polls

    link = page.wait_for_selector(".situation-download a", timeout=20_000)
    assert page.locator("td.situation-status").get_attribute("data-status") == "done"
    response = page.request.get(f"{live_asgi_server}{link.get_attribute('href')}")
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    page.screenshot(path=str(tmp_path / "situation_reports.png"), full_page=True)
