"""Persons imported as a job (tracing/resources.py): matched as tracing matches, in scope."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from forms_engine.imports import import_job_confirm, import_job_create
from places.models import GroupRole
from tests.workflows.conftest import burst, queues  # noqa: F401 - fixture
from tracing.models import DuplicateCandidate, Person

pytestmark = pytest.mark.django_db

HEADER = ["full_name", "national_id", "birth_date", "sex", "phone", "home_area"]


def table(rows):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return SimpleUploadedFile("nguoi.csv", text.getvalue().encode())


@pytest.fixture
def imported(queues, django_capture_on_commit_callbacks, area_tree, make_user):  # noqa: F811
    user = make_user("cntt.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_AREA_IT_TEAM)

    def run(rows):
        with django_capture_on_commit_callbacks(execute=True):
            job = import_job_create(user=user, kind="persons", upload=table(rows))
        burst()
        job.refresh_from_db()
        checked = (job.count_new, job.count_updated, job.count_skipped, job.count_failed)
        with django_capture_on_commit_callbacks(execute=True):
            import_job_confirm(job=job, all_or_nothing=False)
        burst()
        job.refresh_from_db()
        return checked, job

    return run


def test_persons_resolve_by_citizen_id_gain_only_what_they_lacked_and_stay_in_scope(imported, area_tree):
    known = Person.objects.create(
        full_name="Lê Văn Tám",
        name_folded="le van tam",
        national_id="056184000123",
        phone="+84905111222",
        home_area=area_tree["suoi_tan"],
    )
    rows = [
        ["Lê Văn Tám", "056184000123", "12/03/1984", "Nam", "0905999888", "22711"],  # known: fills the date
        ["Nguyễn Thị Hoa", "056190000456", "1990-05-01", "Nữ", "0912 345 678", "22711-02"],
        ["Trần Văn Sơn", "056185000789", "1985-01-01", "Nam", "", "22384"],  # Nha Trang: not theirs
        ["Phạm Văn Bốn", "12345", "", "", "", "22711"],  # a bad citizen ID
    ]
    checked, job = imported(rows)

    assert checked == (1, 1, 0, 2)
    known.refresh_from_db()
    assert (known.phone, str(known.birth_date), known.birth_year) == ("+84905111222", "1984-03-12", 1984)
    hoa = Person.objects.get(national_id="056190000456")
    assert (hoa.phone, hoa.sex, hoa.home_area.code, hoa.name_folded) == (
        "+84912345678",
        "female",
        "22711-02",
        "nguyen thi hoa",
    )
    assert not Person.objects.filter(national_id__in=["056185000789", ""]).exists()
    assert {e["column"] for e in job.errors} == {"home_area", "national_id"}

    again, _job = imported(rows[:2])
    assert again == (0, 0, 2, 0)
    assert Person.objects.count() == 2


def test_a_new_person_like_another_is_queued_as_a_possible_duplicate(imported, area_tree):
    Person.objects.create(full_name="Nguyễn Văn An", name_folded="nguyen van an", birth_year=1985)

    imported([["Nguyễn Văn An", "056085000101", "1985-02-02", "Nam", "", "22711"]])

    assert DuplicateCandidate.objects.count() == 1
