"""The Content-Security-Policy breaks nothing: zero violations in Chromium on the pages people use.

A violation is what the browser blocked (a script, a style, an image, a socket); each is
caught both as the console's error and as the page's ``securitypolicyviolation`` event. The
pages: the admin's login, dashboard, page editor and a snippet listing; a public form (with a
QR place and its map); the epidemic map, the leaders' dashboard and the public map.
"""

import pytest
from django.urls import reverse

from places.models import GroupRole, Place
from tests.factories import field, publish_form
from website.demo.live_pages import demo_live_pages_load
from website.demo.load import demo_home_page_ensure

from .forms import PASSWORD, log_in

pytestmark = pytest.mark.browser

LIVE_PAGES = ("ban-do-an-toan", "ban-do-dich", "bang-dieu-hanh")

WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def watched(page):
    """The page, with every CSP violation it meets collected in ``page.csp_violations`` (and any
    script error: a script whose inline initialisation we moved must still run)."""
    violations = []
    page.add_init_script(WATCH_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on("pageerror", lambda error: violations.append(f"script error: {error}"))
    page.csp_violations = violations
    return page


def assert_no_violations(page) -> None:
    page.wait_for_load_state("networkidle")
    found = page.csp_violations + page.evaluate("window.__cspViolations || []")
    assert found == [], f"{page.url}:\n" + "\n".join(found)


@pytest.fixture
def site(live_asgi_server, area_tree, make_user):
    home = demo_home_page_ensure()
    demo_live_pages_load(home=home, province_code="56")
    fields = [
        field("person", "Người khai", "person", required=True, role="person", birth="year"),
        field("place", "Địa điểm", "venue", role="place"),
        field("geopoint", "Vị trí", "location"),
        field("yes_no", "Đồng ý", "consent", required=True, role="consent"),
    ]
    form = publish_form(home, slug="khai-bao-y-te", fields=fields, area=area_tree["province"], public=True)
    Place.objects.create(
        kind=Place.KIND_VENUE, name="Chợ Đầm", area=area_tree["vinh_luong"], code="DD-CHODAM"
    )
    make_user("quantri", area=area_tree["province"], superuser=True, password=PASSWORD)
    make_user("lanhdao.tinh", area=area_tree["province"], role=GroupRole.ROLE_LEADER, password=PASSWORD)
    return {"base": live_asgi_server, "home": home, "form": form}


def test_the_admin_has_no_csp_violations(watched, site):
    page, base = watched, site["base"]
    page.goto(f"{base}/admin/login/")
    assert_no_violations(page)

    log_in(page, base, "quantri", next_url="/admin/")
    assert_no_violations(page)

    page.goto(f"{base}/admin/pages/{site['home'].pk}/edit/")
    page.locator("form#page-edit-form").wait_for()
    assert_no_violations(page)
    # Wagtail's date pickers (publishing schedule) were started by csp-init.js instead.
    waiting = "[...document.querySelectorAll('[data-csp-init]:not([data-csp-done])')]"
    assert page.evaluate(f"{waiting}.filter(e => !e.dataset.cspTarget.includes('__prefix__')).length") == 0

    listing = page.goto(f"{base}{reverse('submissions:list')}")  # a snippet listing
    assert listing.status == 200
    assert_no_violations(page)


def test_a_public_form_with_its_map_has_no_csp_violations(watched, site):
    page = watched
    page.goto(f"{site['base']}{site['form'].url}?qr=dd-chodam")
    page.wait_for_selector("#form-app[data-ready=true] #fe-submit")
    assert_no_violations(page)


def test_the_live_pages_have_no_csp_violations(watched, site):
    from wagtail.models import Page

    page, base = watched, site["base"]
    urls = {p.slug: p.url for p in Page.objects.filter(slug__in=LIVE_PAGES)}
    page.goto(f"{base}{urls['ban-do-an-toan']}")
    assert_no_violations(page)

    log_in(page, base, "lanhdao.tinh", next_url="/admin/")
    for slug in ("ban-do-dich", "bang-dieu-hanh"):
        page.goto(f"{base}{urls[slug]}")
        page.wait_for_timeout(1500)  # the socket opens, the snapshot is read and drawn
        assert_no_violations(page)


def test_pages_carry_the_policy(site):
    from django.test import Client

    response = Client().get(site["form"].url)
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "object-src 'none'" in policy
