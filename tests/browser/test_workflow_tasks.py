"""A province admin writes a rule step in the Workflows admin as rows, not JSON; a district
reviewer finds an overdue review on the admin dashboard of a 360 px phone."""

from datetime import timedelta

import pytest
from django.utils import timezone
from wagtail.models import TaskState

from tests.forms_engine.conftest import home  # noqa: F401
from tests.workflows.test_tasks import people, submit, testing_form, verification  # noqa: F401
from workflows.tasks import RuleTask

pytestmark = pytest.mark.browser

PASSWORD = "pass-1234-word"  # make_user's


def log_in(page, base_url, username):
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{base_url}/admin/")


def test_a_rule_is_written_as_rows(live_asgi_server, page, make_user, home, tmp_path):  # noqa: F811
    make_user("quantri", superuser=True)
    log_in(page, live_asgi_server, "quantri")

    page.goto(f"{live_asgi_server}/admin/workflows/tasks/add/workflows/ruletask/")
    page.fill("#id_name", "Âm tính thì duyệt")
    # A new rule starts with one row: field key, operator (equals), value.
    page.fill("[name='condition-conditions-0-value-field']", "result")
    page.fill("[name='condition-conditions-0-value-value']", "negative")
    page.screenshot(path=str(tmp_path / "rule.png"), full_page=True)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(f"{live_asgi_server}/admin/workflows/tasks/index/")

    rule = RuleTask.objects.get()
    assert rule.condition == {"all": [{"field": "result", "op": "eq", "value": "negative"}]}


def test_an_overdue_review_is_marked_on_a_phone(live_asgi_server, phone_page, verification, submit, tmp_path):  # noqa: F811
    submission = submit("positive")
    TaskState.objects.filter(workflow_state__object_id=str(submission.pk), status="in_progress").update(
        started_at=timezone.now() - timedelta(hours=3)
    )

    log_in(phone_page, live_asgi_server, "ttyt.camlam")

    panel = phone_page.locator("#overdue-reviews-section")
    phone_page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert str(submission) in panel.inner_text()
    box = panel.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert panel.evaluate("el => el.scrollWidth <= el.clientWidth")  # nothing runs off the side
