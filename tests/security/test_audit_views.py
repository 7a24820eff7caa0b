"""Every view, export or print of personal data leaves exactly one access record that says who,
what, when and from where (audit/services.py)."""

import datetime
import uuid

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from wagtail.models import APIToken

from audit.models import AccessRecord
from forms_engine.models import ImportJob, Submission
from places.folding import fold
from places.models import GroupRole
from tests.forms_engine.conftest import checkpoint_form, home  # noqa: F401 - fixtures
from tracing.models import Person, QuarantineOrder

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Linux; Android 11) Chrome/120"
IP = "203.113.7.9"
FULL_NAME = "Nguyễn Thị Hường"


@pytest.fixture
def huong(area_tree) -> Person:
    return Person.objects.create(
        full_name=FULL_NAME,
        name_folded=fold(FULL_NAME),
        birth_year=1988,
        national_id="056188001234",
        phone="+84905111222",
        home_area=area_tree["dong_cau"],
        level="F0",
    )


@pytest.fixture
def staff(area_tree, make_user):
    """A Cam Lâm province-level approver: sees persons and submissions of the district."""
    return make_user("truyvet.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER)


@pytest.fixture
def admin(make_user):
    return make_user("quantri", superuser=True)


@pytest.fixture
def submission(checkpoint_form, area_tree):  # noqa: F811
    submission = Submission(
        form=checkpoint_form,
        version=checkpoint_form.current_version,
        client_id=uuid.uuid4(),
        data={"traveller": {"full_name": FULL_NAME, "birth_year": 1988}, "phone": "0905111222"},
        data_hash=uuid.uuid4().hex,
        status=Submission.STATUS_ACCEPTED,
        area=area_tree["dong_cau"],
    )
    submission.save(force_insert=True)
    return submission


def client_for(user) -> Client:
    client = Client(HTTP_USER_AGENT=BROWSER, REMOTE_ADDR=IP)
    client.force_login(user)
    return client


def read(response) -> bytes:
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content) if response.streaming else response.content


def only_record(user, **expected) -> AccessRecord:
    """The one record made (there must be exactly one), checked for who, when and from where."""
    records = list(AccessRecord.objects.exclude(action="login"))
    assert len(records) == 1, [(r.action, r.kind, r.outcome, r.path) for r in records]
    record = records[0]
    assert (record.user, record.username) == (user, user.username)
    assert (record.ip, record.user_agent) == (IP, BROWSER)
    assert timezone.now() - record.created_at < datetime.timedelta(minutes=1)
    for name, value in expected.items():
        assert getattr(record, name) == value, (name, getattr(record, name))
    return record


def test_the_person_page(staff, huong, area_tree):
    url = reverse("persons:inspect", args=[huong.pk])

    read(client_for(staff).get(url))

    only_record(
        staff,
        action="view",
        kind="person",
        object_id=str(huong.pk),
        area=area_tree["dong_cau"],
        outcome="shown",
        path=url,
    )


def test_a_submissions_detail_review_screen_and_revision_comparison(staff, submission, area_tree):
    submission.save_revision()
    client = client_for(staff)
    detail, review = (reverse(f"submissions:{name}", args=[submission.pk]) for name in ("inspect", "edit"))
    compare = reverse("submissions:revisions_compare", args=[submission.pk, "earliest", "latest"])

    read(client.get(detail))
    only_record(staff, action="view", kind="submission", object_id=str(submission.pk))
    assert AccessRecord.objects.get(action="view").area == area_tree["dong_cau"]
    read(client.get(review))
    read(client.get(compare))

    records = AccessRecord.objects.exclude(action="login").values_list("action", "kind", "object_id", "path")
    assert list(records) == [
        ("view", "submission", str(submission.pk), compare),
        ("view", "submission", str(submission.pk), review),
        ("view", "submission", str(submission.pk), detail),
    ]


def test_a_listing_export_records_rows_and_filters(staff, huong):
    read(client_for(staff).get(reverse("persons:index"), {"export": "csv", "q": "Hường"}))

    record = only_record(staff, action="export", kind="export:tracing.person", outcome="exported")
    assert "rows=1" in record.detail and "format=csv" in record.detail and "q=" in record.detail


def test_a_forms_submissions_export(staff, submission, checkpoint_form):  # noqa: F811
    read(client_for(staff).get(reverse("submission_export", args=[checkpoint_form.pk, "csv"])))

    record = only_record(
        staff,
        action="export",
        kind="export:forms_engine.submission",
        object_id=str(checkpoint_form.pk),
        outcome="exported",
    )
    assert "rows=1" in record.detail and checkpoint_form.slug in record.detail


def test_an_imports_row_errors(admin, area_tree):
    job = ImportJob.objects.create(
        kind="submissions",
        file=ContentFile(b"full_name\n", name="tiem.csv"),
        file_name="tiem.csv",
        format="csv",
        status=ImportJob.STATUS_CHECKED,
        count_failed=2,
        created_by=admin,
    )
    job.errors_file.save("errors.csv", ContentFile(b"row,column,message\n"))

    read(client_for(admin).get(f"/admin/imports/{job.pk}/errors.csv"))

    record = only_record(admin, action="export", kind="export:forms_engine.importjob", object_id=str(job.pk))
    assert "rows=2" in record.detail


def test_a_printed_certificate(staff, huong, area_tree):
    order = QuarantineOrder.objects.create(
        person=huong,
        kind="home",
        area=area_tree["dong_cau"],
        start_date=datetime.date(2021, 8, 1),
        planned_end=datetime.date(2021, 8, 14),
        status=QuarantineOrder.STATUS_COMPLETED,
        ended_at=timezone.make_aware(datetime.datetime(2021, 8, 15, 9, 30)),
    )

    read(client_for(staff).get(reverse("certificates:quarantine", args=[order.pk])))

    record = only_record(staff, action="print", kind="certificate", area=area_tree["dong_cau"])
    assert record.object_id.endswith(f"-{order.pk}") and f"person={huong.pk}" in record.detail


def test_the_map_of_cases(staff, area_tree):
    read(client_for(staff).get("/api/v1/map/cases", {"layers": "f0,f1"}))

    record = only_record(staff, action="view", kind="map_case", object_id="570", area=area_tree["cam_lam"])
    assert "features=0" in record.detail


def test_a_cases_chain_through_a_bearer_token(staff, huong):
    _token, plaintext = APIToken.create_token(user=staff, name="Máy tính bảng truy vết")
    client = Client(HTTP_USER_AGENT=BROWSER, REMOTE_ADDR=IP, HTTP_AUTHORIZATION=f"Bearer {plaintext}")

    read(client.get(f"/api/v1/cases/{huong.pk}/chain"))

    only_record(staff, action="view", kind="chain", object_id=str(huong.pk), outcome="shown")
