"""Test requests: one open per person, closed by an accepted result, a positive result makes
a case; the testing form opens prefilled with a request's person for staff who may see them."""

import json

import pytest
from django.test import Client

from tests.factories import field, publish_form
from tests.forms_engine.conftest import bearer, home, officer  # noqa: F401
from tests.tracing.test_quarantine import NATIONAL_ID, PERSON, PERSON_FIELD, person_in, submit
from tests.workflows.conftest import burst, queues  # noqa: F401
from tracing import classify, testing
from tracing.models import Person
from tracing.models import TestRequest as SampleRequest  # a name pytest does not collect

pytestmark = pytest.mark.django_db

OPEN, DONE = SampleRequest.STATUS_OPEN, SampleRequest.STATUS_DONE
TESTING_FIELDS = [
    PERSON_FIELD,
    field(
        "single_choice",
        "Kết quả",
        "result",
        required=True,
        role="test_result",
        choices=[
            {"value": "negative", "label": "Âm tính"},
            {"value": "positive", "label": "Dương tính"},
            {"value": "inconclusive", "label": "Không xác định"},
        ],
    ),
]
DECLARATION_FIELDS = [
    PERSON_FIELD,
    field(
        "multiple_choice",
        "Triệu chứng",
        "symptoms",
        role="symptoms",
        choices=[{"value": "sot", "label": "Sốt"}, {"value": "ho", "label": "Ho"}],
    ),
]


@pytest.fixture
def testing_form(home, area_tree):  # noqa: F811 - fixture imported above
    return publish_form(
        home, slug="xet-nghiem", fields=TESTING_FIELDS, area=area_tree["province"], kind="testing"
    )


@pytest.fixture
def person(area_tree) -> Person:
    return person_in(area_tree["dong_cau"], PERSON["full_name"], national_id=NATIONAL_ID, birth_year=1990)


def test_one_open_request_per_person_in_their_home_area(area_tree):
    persons = [person_in(area_tree["dong_cau"], f"Người {n}") for n in range(3)]
    ids = [p.pk for p in persons]

    first = testing.requests_open(ids, SampleRequest.REASON_F1, job="job:1")

    assert len(first) == 3
    assert testing.requests_open(ids, SampleRequest.REASON_SYMPTOMS) == []  # run again: nothing more
    assert set(SampleRequest.objects.values_list("area", flat=True)) == {area_tree["dong_cau"].pk}
    assert set(SampleRequest.objects.values_list("reason", flat=True)) == {SampleRequest.REASON_F1}


def test_a_negative_result_closes_the_open_request(
    queues,  # noqa: F811
    testing_form,
    bearer,  # noqa: F811
    person,
):
    [pk] = testing.requests_open([person.pk], SampleRequest.REASON_F1)

    submission = submit(testing_form, {"person": PERSON, "result": "negative"}, bearer)

    request = SampleRequest.objects.get(pk=pk)
    assert (request.status, request.result_submission) == (DONE, submission)
    assert request.closed_at is not None
    assert not SampleRequest.objects.filter(status=OPEN).exists()
    person.refresh_from_db()
    assert person.level == ""


def test_an_inconclusive_result_closes_the_request_and_asks_again(
    queues,  # noqa: F811
    testing_form,
    bearer,  # noqa: F811
    person,
):
    [pk] = testing.requests_open([person.pk], SampleRequest.REASON_F1)

    submit(testing_form, {"person": PERSON, "result": "inconclusive"}, bearer)

    assert SampleRequest.objects.get(pk=pk).status == DONE
    [again] = SampleRequest.objects.filter(status=OPEN)
    assert (again.person, again.reason) == (person, SampleRequest.REASON_F1)


def test_a_positive_result_closes_the_request_and_confirms_the_case(
    queues,  # noqa: F811
    testing_form,
    bearer,  # noqa: F811
    person,
    monkeypatch,
):
    calls = []
    confirm = classify.case_confirm

    def spy(who, **kwargs):
        calls.append((who.pk, kwargs["submission"].pk))
        return confirm(who, **kwargs)

    monkeypatch.setattr(classify, "case_confirm", spy)
    [pk] = testing.requests_open([person.pk], SampleRequest.REASON_F1)

    submission = submit(testing_form, {"person": PERSON, "result": "positive"}, bearer)

    assert SampleRequest.objects.get(pk=pk).status == DONE
    assert calls == [(person.pk, submission.pk)]
    person.refresh_from_db()
    assert person.level == "F0"


def test_a_declaration_with_symptoms_asks_for_a_test_and_one_without_does_not(
    queues,  # noqa: F811
    home,  # noqa: F811
    area_tree,
    bearer,  # noqa: F811
):
    form = publish_form(
        home,
        slug="khai-bao",
        fields=DECLARATION_FIELDS,
        area=area_tree["province"],
        kind="health_declaration",
    )
    well = {"full_name": "Lê Thị Hoa", "birth_year": 1980, "national_id": "056180000321"}

    submit(form, {"person": well, "symptoms": []}, bearer)
    submit(form, {"person": PERSON, "symptoms": ["sot"]}, bearer)

    [request] = SampleRequest.objects.select_related("person")
    assert request.person.national_id == NATIONAL_ID
    assert request.reason == SampleRequest.REASON_SYMPTOMS


# --- the testing form, prefilled ---------------------------------------------------------------


def test_a_request_links_to_the_testing_form_prefilled_for_staff_of_the_persons_area(
    testing_form, person, area_tree, make_user
):
    [pk] = testing.requests_open([person.pk], SampleRequest.REASON_F1)
    url = testing.prefill_url(SampleRequest.objects.get(pk=pk))
    assert url == f"{testing_form.url}?test_request={pk}"
    client = Client()
    client.force_login(make_user("xetnghiem.camlam", area=area_tree["cam_lam"]))

    response = client.get(url)

    initial = response.context["form_initial"]
    assert initial["values"] == {
        "person": {
            "full_name": PERSON["full_name"],
            "national_id": NATIONAL_ID,
            "birth_year": 1990,
            "home_area": "22711-02",
        }
    }
    assert initial["area_chains"] == {"22711-02": ["570", "22711", "22711-02"]}
    assert 'id="form-initial"' in response.content.decode()
    script = response.content.decode().split('id="form-initial" type="application/json">')[1]
    assert json.loads(script.split("</script>")[0]) == initial


def test_no_prefill_outside_the_users_area_or_for_a_closed_request(
    testing_form, person, area_tree, make_user
):
    [pk] = testing.requests_open([person.pk], SampleRequest.REASON_F1)
    outsider = Client()
    outsider.force_login(make_user("xetnghiem.nhatrang", area=area_tree["nha_trang"]))
    insider = Client()
    insider.force_login(make_user("xetnghiem.camlam", area=area_tree["cam_lam"]))

    assert outsider.get(f"{testing_form.url}?test_request={pk}").context["form_initial"] is None
    assert 'id="form-initial"' not in outsider.get(f"{testing_form.url}?test_request={pk}").content.decode()
    assert Client().get(f"{testing_form.url}?test_request={pk}").context["form_initial"] is None
    SampleRequest.objects.filter(pk=pk).update(status=DONE)
    assert insider.get(f"{testing_form.url}?test_request={pk}").context["form_initial"] is None
    assert insider.get(f"{testing_form.url}?test_request=x").context["form_initial"] is None
