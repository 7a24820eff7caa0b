"""On the phone: a submission sent to a form with a workflow waits on the outbox list as "in
review", and the approver's rejection and its reason show there once decided."""

import pytest

from places.models import GroupRole
from tests.factories import approval_required

from .forms import wait_for_submissions
from .test_form_phone import (  # noqa: F401 - fixtures and helpers of the phone tests
    checkpoint_form,
    choose_stay_area,
    fill_traveller,
    officer_page,
    top_field,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def reviewed(checkpoint_form):  # noqa: F811 - the fixture imported above
    return approval_required(checkpoint_form)


def test_the_outbox_shows_in_review_then_the_rejection_and_its_reason(
    reviewed,
    officer_page,  # noqa: F811 - the fixture imported above
    make_user,
    area_tree,
):
    page = officer_page
    page.reload()
    page.wait_for_selector("#form-app[data-ready=true] #fe-submit")
    fill_traveller(page)
    page.get_by_role("radio", name="Ra tỉnh").check()
    choose_stay_area(page)
    top_field(page, "phone").get_by_label("Số điện thoại").fill("0912 345 678")
    page.get_by_role("button", name="Gửi", exact=True).click()
    page.locator("#form-result").get_by_text("Phiếu đang chờ duyệt.").wait_for()
    row = page.locator("#outbox-list li[data-status=in_review]")
    row.wait_for()
    assert "đang chờ duyệt" in row.inner_text()

    [submission] = wait_for_submissions(1, page=page)
    approver = make_user("duyet", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER)
    task_state = submission.current_workflow_task_state
    task_state.task.specific.on_action(task_state, approver, "reject", comment="Sai số điện thoại")

    page.reload()  # the page asks after its in-review submissions when it opens
    rejected = page.locator("#outbox-list li[data-status=rejected]")
    rejected.wait_for()
    assert "Bị từ chối: Sai số điện thoại" in rejected.inner_text()
