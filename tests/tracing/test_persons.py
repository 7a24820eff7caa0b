"""The person registry: submissions' persons resolve to one row per real person."""

import json
import uuid

import pytest
from django.test import Client

from forms_engine.models import Submission
from tests.forms_engine.conftest import bearer, checkpoint_form, home, officer  # noqa: F401
from tests.workflows.conftest import burst, queues  # noqa: F401
from tracing.models import DuplicateCandidate, Person, SubmissionPerson
from tracing.resolve import person_resolve, submissions_persons_resolve
from workflows.outbox import relay_pending

pytestmark = pytest.mark.django_db


def test_a_citizen_id_names_one_person_and_fills_what_was_missing(area_tree):
    first, created = person_resolve({"full_name": "Nguyễn Văn An", "national_id": "056184000123"})
    again, created_again = person_resolve(
        {"full_name": "Nguyen Van An", "national_id": "056184000123", "phone": "+84905123456", "sex": "male"}
    )
    assert created and not created_again and again.pk == first.pk
    again.refresh_from_db()
    assert again.phone == "+84905123456" and again.full_name == "Nguyễn Văn An"  # kept, not overwritten


def test_phone_name_without_accents_and_birth_year_match_without_a_citizen_id(db):
    first, _ = person_resolve({"full_name": "Trần Thị Bình", "birth_year": 1990, "phone": "+84912345678"})
    same, created = person_resolve(
        {"full_name": "tran thi binh", "birth_year": 1990, "phone": "+84912345678"}
    )
    assert not created and same.pk == first.pk


def test_a_near_match_is_queued_as_a_possible_duplicate(db):
    first, _ = person_resolve({"full_name": "Lê Văn Cường", "birth_year": 1970, "phone": "+84912000001"})
    second, created = person_resolve({"full_name": "Le Van Cuong", "birth_year": 1970})
    assert created and second.pk != first.pk
    assert DuplicateCandidate.objects.filter(person=second, other=first).exists()


def test_an_accepted_submissions_person_is_resolved_once_by_its_job(
    queues,  # noqa: F811 - fixtures imported above
    checkpoint_form,  # noqa: F811
    bearer,  # noqa: F811
):
    data = {"traveller": {"full_name": "Phạm Thị Dung", "birth_year": 1995}, "direction": "out"}
    body = json.dumps({"client_id": str(uuid.uuid4()), "data": data})
    Client().post(
        f"/api/v1/forms/{checkpoint_form.slug}/submissions", body, content_type="application/json", **bearer
    )
    relay_pending()
    burst()
    submission = Submission.objects.get()
    [link] = SubmissionPerson.objects.filter(submission=submission)
    assert link.person.full_name == "Phạm Thị Dung" and link.created
    assert submissions_persons_resolve([submission]) == {submission.pk: {"traveller": link.person}}  # once
    assert Person.objects.count() == 1


def test_a_batch_resolves_each_identity_once_with_a_handful_of_queries(
    queues,  # noqa: F811
    checkpoint_form,  # noqa: F811
    bearer,  # noqa: F811
    django_assert_max_num_queries,
):
    """Fifty submissions naming thirty people: thirty rows, the repeats linked to the first."""
    travellers = [
        {"full_name": f"Nguyễn Văn Số {n}", "birth_year": 1980 + n % 20, "phone": f"+8490500{n:04d}"}
        for n in range(30)
    ]
    for n in range(50):
        data = {"traveller": travellers[n % 30], "direction": "out"}
        body = json.dumps({"client_id": str(uuid.uuid4()), "data": data})
        Client().post(
            f"/api/v1/forms/{checkpoint_form.slug}/submissions",
            body,
            content_type="application/json",
            **bearer,
        )
    submissions = list(Submission.objects.select_related("version", "area"))
    with django_assert_max_num_queries(10):
        resolved = submissions_persons_resolve(submissions)
    assert Person.objects.count() == 30 and SubmissionPerson.objects.count() == 50
    by_name = {}
    for links in resolved.values():
        by_name.setdefault(links["traveller"].full_name, set()).add(links["traveller"].pk)
    assert all(len(pks) == 1 for pks in by_name.values())
