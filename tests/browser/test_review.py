"""An approver logs in, finds the submission awaiting review, corrects a field and approves."""

import json
import uuid

import pytest
from django.test import Client

from forms_engine.models import Submission
from places.models import GroupRole
from tests.factories import approval_required
from tests.forms_engine.conftest import bearer, checkpoint_form, home, officer  # noqa: F401

pytestmark = pytest.mark.browser

PASSWORD = "Mat-khau-2021"


@pytest.fixture
def in_review(checkpoint_form, bearer):  # noqa: F811 - fixtures imported above
    approval_required(checkpoint_form)
    data = {
        "traveller": {"full_name": "Nguyễn Văn Aa", "birth_year": 1984},
        "direction": "in",
        "destination": "22711-02",
    }
    body = json.dumps({"client_id": str(uuid.uuid4()), "data": data})
    response = Client().post(
        f"/api/v1/forms/{checkpoint_form.slug}/submissions", body, content_type="application/json", **bearer
    )
    assert response.json()["status"] == "in_review"
    return Submission.objects.get()


def test_approver_corrects_a_name_and_approves(
    live_asgi_server, page, in_review, make_user, area_tree, tmp_path
):
    make_user("duyet.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER, password=PASSWORD)
    page.goto(f"{live_asgi_server}/admin/login/")
    page.fill("#id_username", "duyet.camlam")
    page.fill("#id_password", PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{live_asgi_server}/admin/")

    # The dashboard's "awaiting your review" panel lists it; its link opens the review screen.
    page.locator(f"a[href*='/admin/submissions/edit/{in_review.pk}/']").first.click()
    page.wait_for_url(f"**/admin/submissions/edit/{in_review.pk}/")
    assert "Người khai báo" in page.content()
    page.fill("#id_data__traveller__full_name", "Nguyễn Văn A")
    page.screenshot(path=str(tmp_path / "review.png"), full_page=True)

    page.locator("nav.footer__container .w-dropdown__toggle").click()  # the footer's other actions
    page.locator("[data-workflow-action-name='approve']").first.click()
    page.wait_for_load_state("networkidle")
    in_review.refresh_from_db()
    for _ in range(50):
        if in_review.status == "accepted":
            break
        page.wait_for_timeout(100)
        in_review.refresh_from_db()
    assert in_review.status == "accepted"
    assert in_review.data["traveller"]["full_name"] == "Nguyễn Văn A"
