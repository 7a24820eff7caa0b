"""Submissions under a Wagtail workflow: in review, corrected and approved, or rejected with a
reason the submitter sees; the admin screens are scoped by area."""

import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from forms_engine.models import Submission
from places.models import GroupRole
from tests.asgi_client import AsgiClient
from tests.factories import approval_required
from workflows.events import SUBMISSION_ACCEPTED, SUBMISSION_REJECTED
from workflows.models import Event

pytestmark = pytest.mark.django_db

VALID = {
    "traveller": {"full_name": "Trần Thị Bìnhh", "birth_year": 1990},
    "direction": "in",
    "destination": "22711-02",
}


@pytest.fixture
def reviewed_form(checkpoint_form):
    """The checkpoint form with a one-step approval by the approvers' group."""
    return approval_required(checkpoint_form)


@pytest.fixture
def approver(make_user, area_tree):
    return make_user("duyet.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER)


def post(form, bearer, data=VALID, client_id=None):
    body = json.dumps({"client_id": str(client_id or uuid.uuid4()), "data": data})
    return Client().post(
        f"/api/v1/forms/{form.slug}/submissions", body, content_type="application/json", **bearer
    )


def edit_url(submission):
    return reverse("submissions:edit", args=[submission.pk])


def act(client, submission, action, *, comment="", fields=None):
    """What the review screen posts: its fields (corrections) and the workflow action."""
    data = {
        "action-workflow-action": "true",
        "workflow-action-name": action,
        "workflow-action-extra-data": json.dumps({"comment": comment} if comment else {}),
        **(fields or {}),
    }
    return client.post(edit_url(submission), data)


def current_fields(client, submission) -> dict:
    """The review form's filled fields, as a browser posts them (empty ones left out)."""
    response = client.get(edit_url(submission))
    assert response.status_code == 200
    form = response.context["form"]
    values = {name: form[name].value() for name in form.fields if name.startswith("data__")}
    return {name: value for name, value in values.items() if value not in (None, "", [])}


def test_a_reviewed_submission_waits_in_review_then_is_corrected_and_approved(
    reviewed_form, bearer, approver, officer
):
    response = post(reviewed_form, bearer)
    assert response.status_code == 201 and response.json()["status"] == "in_review"
    submission = Submission.objects.get()
    assert not submission.live and submission.current_workflow_state is not None
    assert not Event.objects.exists()  # nothing to do before a decision

    client = Client()
    client.force_login(approver)
    page = client.get(edit_url(submission)).content.decode()
    assert "Người khai báo › Họ và tên" in page or "Người khai báo ›" in page  # version labels
    fields = current_fields(client, submission)
    fields["data__traveller__full_name"] = "Trần Thị Bình"  # the typo corrected
    assert act(client, submission, "approve", fields=fields).status_code == 302

    submission.refresh_from_db()
    assert submission.status == "accepted" and submission.live
    assert submission.data["traveller"]["full_name"] == "Trần Thị Bình"
    assert Event.objects.get().kind == SUBMISSION_ACCEPTED
    assert submission.revisions.count() == 2  # as sent, as corrected
    history = client.get(reverse("submissions:history", args=[submission.pk]))
    assert history.status_code == 200


def test_a_correction_that_breaks_a_rule_is_refused_and_changes_nothing(reviewed_form, bearer, approver):
    post(reviewed_form, bearer)
    submission = Submission.objects.get()
    client = Client()
    client.force_login(approver)
    fields = current_fields(client, submission)
    fields["data__traveller__birth_year"] = "1850"
    response = act(client, submission, "approve", fields=fields)
    assert response.status_code == 200  # the form again, with the error
    assert response.context["form"].errors["data__traveller__birth_year"]
    submission.refresh_from_db()
    assert submission.status == "in_review" and submission.data["traveller"]["birth_year"] == 1990


def test_a_rejection_reaches_the_submitter_with_its_reason(reviewed_form, bearer, approver):
    client_id = uuid.uuid4()
    post(reviewed_form, bearer, client_id=client_id)
    submission = Submission.objects.get()
    client = Client()
    client.force_login(approver)
    fields = current_fields(client, submission)
    act(client, submission, "reject", comment="Sai năm sinh, khai lại", fields=fields)

    submission.refresh_from_db()
    assert submission.status == "rejected"
    assert submission.status_reason == "Sai năm sinh, khai lại"
    assert Event.objects.get().kind == SUBMISSION_REJECTED
    mine = Client().get("/api/v1/submissions/mine", {"client_id": str(client_id)}, **bearer).json()
    assert mine == [
        {
            "id": submission.pk,
            "client_id": str(client_id),
            "status": "rejected",
            "reason": "Sai năm sinh, khai lại",
        }
    ]
    listed = Client().get("/api/v1/submissions", **bearer).json()["items"][0]
    assert listed["reason"] == "Sai năm sinh, khai lại"


def test_decisions_are_only_the_callers_own(reviewed_form, bearer, make_user, area_tree):
    from wagtail.models import APIToken

    client_id = uuid.uuid4()
    post(reviewed_form, bearer, client_id=client_id)
    other = make_user("khac", area=area_tree["cam_lam"], role=GroupRole.ROLE_FIELD_STAFF)
    _t, key = APIToken.create_token(user=other, name="x")
    theirs = Client().get(
        "/api/v1/submissions/mine", {"client_id": str(client_id)}, HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    anonymous = Client().get("/api/v1/submissions/mine", {"client_id": str(client_id)})
    assert theirs.json() == [] and anonymous.json() == []


def test_review_screens_of_another_district_answer_404(reviewed_form, bearer, make_user, area_tree):
    post(reviewed_form, bearer)
    submission = Submission.objects.get()
    outsider = make_user("duyet.nhatrang", area=area_tree["nha_trang"], role=GroupRole.ROLE_APPROVER)
    client = Client()
    client.force_login(outsider)
    for name in ("edit", "history", "inspect", "workflow_history"):
        assert client.get(reverse(f"submissions:{name}", args=[submission.pk])).status_code == 404, name
    assert act(client, submission, "approve").status_code == 404
    submission.refresh_from_db()
    assert submission.status == "in_review"


@pytest.mark.django_db(transaction=True)
def test_a_form_with_a_workflow_is_served_by_django_not_the_lane(postgres, reviewed_form, bearer):
    body = json.dumps({"client_id": str(uuid.uuid4()), "data": VALID})
    response = AsgiClient().post(
        f"/api/v1/forms/{reviewed_form.slug}/submissions", body, content_type="application/json", **bearer
    )
    assert response.served_by == "django"
    assert response.status_code == 201 and response.json()["status"] == "in_review"


def test_bulk_approval_approves_only_what_the_user_may(reviewed_form, bearer, approver, make_user, area_tree):
    for _ in range(3):
        post(reviewed_form, bearer)
    elsewhere = {**VALID, "destination": "22384"}  # Nha Trang: outside the approver's district
    nha_trang_officer = make_user(
        "canbo.nhatrang", area=area_tree["province"], role=GroupRole.ROLE_FIELD_STAFF
    )
    from wagtail.models import APIToken

    _t, key = APIToken.create_token(user=nha_trang_officer, name="x")
    post(reviewed_form, {"HTTP_AUTHORIZATION": f"Bearer {key}"}, data=elsewhere)
    ids = list(Submission.objects.order_by("pk").values_list("pk", flat=True))

    client = Client()
    client.force_login(approver)
    url = reverse("wagtail_bulk_action", args=["forms_engine", "submission", "approve"])
    # Naming another district's submission: 404 for the whole request, nothing approved (its
    # existence is not shown among the items "without permission").
    query = "&".join(f"id={pk}" for pk in ids)
    assert client.get(f"{url}?{query}").status_code == 404
    assert client.post(f"{url}?{query}").status_code == 404
    assert not Submission.objects.filter(status="accepted").exists()
    query = "&".join(f"id={pk}" for pk in ids[:3])
    confirm = client.get(f"{url}?{query}")
    assert confirm.status_code == 200
    assert len(confirm.context["items"]) == 3 and not confirm.context["items_with_no_access"]
    assert client.post(f"{url}?{query}").status_code == 302

    statuses = dict(Submission.objects.values_list("pk", "status"))
    assert [statuses[pk] for pk in ids] == ["accepted", "accepted", "accepted", "in_review"]
    assert Event.objects.filter(kind=SUBMISSION_ACCEPTED).count() == 3


def test_a_superuser_opens_the_review_screen(reviewed_form, bearer, make_user):
    post(reviewed_form, bearer)
    client = Client()
    client.force_login(make_user("quantri", superuser=True))
    assert client.get(edit_url(Submission.objects.get())).status_code == 200
