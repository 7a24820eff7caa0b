"""The whole path with a real worker: a positive result approved by the district and the CDC
makes its person F0; the case's contacts become F1 (facility quarantine, a test) and theirs F2
(home quarantine), each with its history — and relaying everything again changes nothing."""

import json
import uuid

import pytest
from django.test import Client
from wagtail.models import APIToken

from forms_engine.models import Submission
from places.models import Place
from tests.forms_engine.conftest import home  # noqa: F401 - fixture
from tests.workflows.conftest import burst, queues  # noqa: F401 - fixture
from tests.workflows.test_tasks import (  # noqa: F401 - fixtures
    people,
    review,
    testing_form,
    verification,
)
from tracing.models import Classification, Contact, Person, QuarantineOrder, QuarantineRule, TestRequest
from workflows.models import Event
from workflows.outbox import relay_pending

pytestmark = pytest.mark.django_db

PATIENT_ID = "056184000123"


@pytest.fixture
def household(area_tree):
    """The patient, already known (a CCCD), two household members and a colleague of one."""
    village = area_tree["dong_cau"]
    patient = Person.objects.create(full_name="Lê Văn Tám", name_folded="le van tam", national_id=PATIENT_ID)
    wife, son = (
        Person.objects.create(full_name=name, name_folded=name.lower(), home_area=village)
        for name in ("Nguyễn Thị Hoa", "Lê Văn Nam")
    )
    colleague = Person.objects.create(full_name="Trần Văn Sơn", name_folded="tran van son", home_area=village)
    for contact in (wife, son):
        Contact.objects.create(person=patient, contact=contact, setting="household", found_by="interview")
    Contact.objects.create(person=colleague, contact=son, setting="workplace", found_by="interview")
    Place.objects.create(
        kind=Place.KIND_QUARANTINE_FACILITY,
        name="Khu cách ly Cam Lâm",
        area=area_tree["cam_lam"],
        capacity=50,
    )
    QuarantineRule.objects.create(
        level="F1", kind=QuarantineRule.KIND_FACILITY, days=14, self_monitoring_days=14
    )
    QuarantineRule.objects.create(level="F2", kind=QuarantineRule.KIND_HOME, days=7)
    return {"patient": patient, "wife": wife, "son": son, "colleague": colleague}


def run_jobs():
    """Relay and work until the outbox is quiet: a job may record events of its own (a new F0)."""
    for _ in range(5):
        relay_pending()
        burst()
        if not Event.objects.filter(done_at=None).exists():
            return
    raise AssertionError("events left undone")


def snapshot():
    return (
        sorted(Person.objects.values_list("pk", "level")),
        Classification.objects.count(),
        sorted(QuarantineOrder.objects.values_list("person_id", "kind", "planned_end")),
        sorted(TestRequest.objects.values_list("person_id", "reason")),
    )


def test_an_approved_positive_result_puts_its_contacts_in_quarantine(verification, people, queues, household):  # noqa: F811
    patient = household["patient"]
    submission = submit_positive(people["sampler"])
    review(people["cam_lam"], submission, "approve")
    review(people["cdc"], submission, "approve")
    run_jobs()

    levels = dict(Person.objects.values_list("pk", "level"))
    assert levels[patient.pk] == "F0"
    assert levels[household["wife"].pk] == levels[household["son"].pk] == "F1"
    assert levels[household["colleague"].pk] == "F2"
    orders = {order.person_id: order for order in QuarantineOrder.objects.all()}
    assert (
        orders[household["wife"].pk].kind == "facility" and orders[household["wife"].pk].facility is not None
    )
    assert (orders[household["son"].pk].planned_end - orders[household["son"].pk].start_date).days == 14
    assert orders[household["colleague"].pk].kind == "home"
    assert set(TestRequest.objects.values_list("person_id", flat=True)) >= {
        household["wife"].pk,
        household["son"].pk,
    }
    history = Classification.objects.get(person=household["colleague"])
    assert (
        history.case_id == patient.pk and history.level == "F2" and history.job.startswith("case.confirmed")
    )

    before = snapshot()
    Event.objects.update(relayed_at=None)  # every event relayed again, as after a relay crash
    run_jobs()
    assert snapshot() == before


def submit_positive(sampler):
    """The sampling team's positive result for the patient, named by their CCCD."""
    _token, key = APIToken.create_token(user=sampler, name="Tổ lấy mẫu")
    data = {
        "patient": {"full_name": "Lê Văn Tám", "birth_year": 1984, "national_id": PATIENT_ID},
        "result": "positive",
        "area": "22711-02",
    }
    response = Client().post(
        "/api/v1/forms/ket-qua-xet-nghiem/submissions",
        json.dumps({"client_id": str(uuid.uuid4()), "data": data}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 201, response.content
    return Submission.objects.get(pk=response.json()["id"])
