"""Forms, logins and waits for the browser tests of the mobile form page."""

import time

from django.db import OperationalError

from forms_engine.models import Submission
from tests.factories import field, publish_form, shown_if  # noqa: F401 - re-exported for the tests

PASSWORD = "Mat-khau-2021"


# A checkpoint declaration: a condition on the direction, a cascading area picker, a repeat group.
CHECKPOINT_FIELDS = [
    {"type": "heading", "value": {"text": "Người qua chốt"}},
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
    field("area", "Nơi lưu trú", "stay_area", required=True, role="area", depth=0),
    field("phone", "Số điện thoại", "phone", required=True),
    field(
        "number",
        "Nhiệt độ (°C)",
        "temperature",
        decimal=True,
        decimal_places=1,
        min_value="34",
        max_value="43",
    ),
    field(
        "multiple_choice",
        "Triệu chứng",
        "symptoms",
        role="symptoms",
        choices=[{"value": "sot", "label": "Sốt"}, {"value": "ho", "label": "Ho"}],
    ),
    field(
        "repeat",
        "Người đi cùng",
        "companions",
        role="companions",
        item_label="Người đi cùng",
        min_items=0,
        max_items=5,
        fields=[
            field("short_text", "Họ tên", "name", required=True),
            field("phone", "Điện thoại", "phone"),
        ],
    ),
]


def log_in(page, base_url, username, *, next_url, password=PASSWORD):
    """Log in through the admin's login form and land on ``next_url``."""
    page.goto(f"{base_url}/admin/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{base_url}{next_url}")


def open_form(page, url):
    page.goto(url)
    page.wait_for_selector("#form-app[data-ready=true] #fe-submit")


def wait_for_submissions(count, *, page=None, timeout=30.0, **filters):
    """Poll the database until exactly ``count`` submissions match; return them.

    With ``page``, pauses through Playwright so that the page's route handlers keep running
    (the sync API serves them only while it runs). On SQLite the test database is shared in
    memory with the server's thread, and a read that meets its write lock is tried again.
    """
    deadline = time.monotonic() + timeout
    rows = []
    while time.monotonic() < deadline:
        try:
            rows = list(Submission.objects.filter(**filters))
        except OperationalError:
            rows = []
        if len(rows) == count:
            return rows
        if page is not None:
            page.wait_for_timeout(250)
        else:
            time.sleep(0.25)
    raise AssertionError(f"expected {count} submissions matching {filters}, found {len(rows)}")
