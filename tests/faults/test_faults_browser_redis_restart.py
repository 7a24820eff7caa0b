"""The product's own page through a Redis restart: the dashboard in Chromium keeps its socket,
hears the server's second hello once Redis is back, reads its snapshot again for the events
lost meanwhile, and applies the next event live (website/static/website/live/live.js)."""

import shutil
import threading

import pytest

from places.models import GroupRole
from realtime import publish
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, live_asgi_server  # noqa: F401 - fixture
from tests.browser.forms import PASSWORD, log_in
from tests.conftest import require
from website.demo.live_pages import demo_live_pages_load
from website.demo.load import demo_home_page_ensure
from website.models import DashboardPage

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres]

EVENT = {"type": "counts.changed", "date": "2021-08-20", "metrics": ["tests"]}
RECOVERY_MS = 10_000


@pytest.fixture(scope="module")
def chromium():
    """This module's own browser, closed with the module: Playwright's sync API keeps an event
    loop in the main thread while a browser is open, which the async_to_sync of the tests
    after these must not find there (tests/browser/conftest.py has the same reason)."""
    require(bool(shutil.which(CHROMIUM)), f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def in_thread(function, *args) -> None:
    """Outside the thread where Playwright keeps its event loop."""
    worker = threading.Thread(target=function, args=args)
    worker.start()
    worker.join(timeout=30)


@pytest.fixture
def dashboard_url(postgres, on_throwaway_redis, live_asgi_server, area_tree, make_user):  # noqa: F811
    """The server thread and this test publish on the throwaway Redis (fixture order)."""
    demo_live_pages_load(home=demo_home_page_ensure(), province_code="56")
    make_user("lanhdao.tinh", area=area_tree["province"], role=GroupRole.ROLE_LEADER, password=PASSWORD)
    return live_asgi_server, DashboardPage.objects.get().url


def test_the_dashboard_keeps_its_socket_and_misses_nothing_across_a_redis_restart(
    chromium,
    dashboard_url,
    redis_server,
):
    base, url = dashboard_url
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        log_in(page, base, "lanhdao.tinh", next_url=url)
        page.goto(f"{base}{url}")
        page.wait_for_selector("#live-status[data-state=live]")
        page.wait_for_function("() => window.liveDashboard.client.seq !== null")
        page.evaluate(
            """() => {
                const client = window.liveDashboard.client;
                window.applied = [];
                window.hellos = 0;
                window.sockets = 0;
                const onEvent = client.onEvent, receive = client.receive.bind(client);
                const connect = client.connect.bind(client);
                client.onEvent = (event) => { window.applied.push(event.seq); onEvent(event); };
                client.receive = (message) => {
                    if (message.type === "hello") window.hellos += 1;
                    receive(message);
                };
                client.connect = () => { window.sockets += 1; connect(); };
            }"""
        )
        start = page.evaluate("window.liveDashboard.client.seq")
        in_thread(publish, "56", EVENT)
        page.wait_for_function(f"() => window.applied.includes({start + 1})")

        redis_server.kill()
        in_thread(publish, "56", EVENT)  # numbers taken, messages lost
        in_thread(publish, "56", EVENT)
        redis_server.start()
        page.wait_for_function(f"() => window.liveDashboard.client.seq === {start + 3}", timeout=RECOVERY_MS)
        in_thread(publish, "56", EVENT)
        page.wait_for_function(f"() => window.applied.includes({start + 4})")

        # The numbers go on; the lost two came with the snapshot; the page shows the latest data.
        assert page.evaluate("window.applied") == [start + 1, start + 4]
        page.wait_for_function(f"() => document.body.dataset.dashboardSeq === '{start + 4}'")
        assert page.evaluate("[window.hellos, window.sockets]") == [1, 0]  # same socket, a second hello
        assert page.evaluate("document.getElementById('live-status').dataset.state") == "live"
    finally:
        context.close()
