"""Bulk imports as jobs: bad files refused with a reason, a dry run that changes nothing, the
web's rules for every row (validation, area scope, workflow, outbox events), idempotent
re-imports, all-or-nothing or valid rows only, and a real RQ worker running the jobs."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils.translation import gettext

from forms_engine.import_files import NOT_UTF8
from forms_engine.imports import FIX_OR_CHOOSE, import_job_confirm, import_job_create
from forms_engine.models import ImportJob, Submission
from forms_engine.resources import SubmissionResource
from places.models import GroupRole, Place
from tests.factories import approval_required, field, publish_form
from tests.forms_engine.conftest import home  # noqa: F401 - fixture
from tests.workflows.conftest import burst, queues  # noqa: F401 - fixture
from workflows.events import SUBMISSION_ACCEPTED
from workflows.models import Event

pytestmark = pytest.mark.django_db

HEADER = [
    "person.full_name",
    "person.national_id",
    "person.birth_year",
    "vaccine",
    "dose",
    "vaccination_date",
    "site",
]
GOOD_ROWS = [
    ["Nguyễn Văn An", "056085000101", "1985", "astrazeneca", "1", "2021-08-20", "TC-SUOITAN"],
    ["Trần Thị Bích", "056190000202", "1990", "moderna", "2", "21/08/2021", "TC-SUOITAN"],
    ["Lê Văn Cường", "056072000303", "1972", "Pfizer-BioNTech", "1", "2021-08-22", "TC-SUOITAN"],
]
VACCINATION_FIELDS = [
    field("person", "Người được tiêm", "person", required=True, role="person", require_national_id=True),
    field(
        "single_choice",
        "Vắc xin",
        "vaccine",
        required=True,
        role="vaccine",
        choices=[
            {"value": "astrazeneca", "label": "AstraZeneca"},
            {"value": "moderna", "label": "Moderna"},
            {"value": "pfizer", "label": "Pfizer-BioNTech"},
        ],
    ),
    field(
        "single_choice",
        "Mũi số",
        "dose",
        required=True,
        role="dose",
        choices=[{"value": "1", "label": "Mũi 1"}, {"value": "2", "label": "Mũi 2"}],
    ),
    field(
        "date", "Ngày tiêm", "vaccination_date", required=True, role="vaccination_date", allow_future=False
    ),
    field("place", "Điểm tiêm", "site", required=True, role="place", kinds=["vaccination_site"]),
    field("short_text", "Số lô", "lot_number", role="lot_number", max_length=50),
]


def csv_file(rows, header=HEADER, *, encoding="utf-8", name="tiem-chung.csv"):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    content = text.getvalue().encode(encoding, errors="replace")  # Windows code pages lack some letters
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.fixture
def sites(area_tree):
    return {
        "cam_lam": Place.objects.create(
            kind=Place.KIND_VACCINATION_SITE,
            name="Trạm Y tế Suối Tân",
            code="TC-SUOITAN",
            area=area_tree["suoi_tan"],
        ),
        "nha_trang": Place.objects.create(
            kind=Place.KIND_VACCINATION_SITE,
            name="Trạm Y tế Vĩnh Lương",
            code="TC-VINHLUONG",
            area=area_tree["vinh_luong"],
        ),
    }


@pytest.fixture
def vaccination_form(home, area_tree, sites):  # noqa: F811
    return publish_form(
        home,
        slug="ghi-nhan-tiem-chung",
        fields=VACCINATION_FIELDS,
        area=area_tree["province"],
        kind="vaccination",
        title="Ghi nhận tiêm chủng",
    )


@pytest.fixture
def it_team(area_tree, make_user):
    return make_user("cntt.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_AREA_IT_TEAM)


@pytest.fixture
def other_it_team(area_tree, make_user):
    return make_user("cntt.nhatrang", area=area_tree["nha_trang"], role=GroupRole.ROLE_AREA_IT_TEAM)


@pytest.fixture
def run(queues, django_capture_on_commit_callbacks):  # noqa: F811
    """Call a service, let its transaction's hooks enqueue the job, run it with a real worker."""

    def call(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            job = function(**kwargs)
        burst()
        job.refresh_from_db()
        return job

    return call


def check(run, user, form, upload, kind=ImportJob.KIND_SUBMISSIONS):
    return run(import_job_create, user=user, kind=kind, upload=upload, form=form)


def confirm(run, job, *, all_or_nothing=True):
    return run(import_job_confirm, job=job, all_or_nothing=all_or_nothing)


# --- the happy path ---------------------------------------------------------------------------


def test_a_dry_run_changes_nothing_then_the_import_lands_every_row(run, it_team, vaccination_form):
    job = check(run, it_team, vaccination_form, csv_file(GOOD_ROWS))

    assert job.status == ImportJob.STATUS_CHECKED
    assert (job.count_new, job.count_failed, job.progress) == (3, 0, 100)
    assert [row["values"]["person.full_name"] for row in job.preview["rows"]] == [r[0] for r in GOOD_ROWS]
    assert job.preview["rows"][0]["place"] == "Trạm Y tế Suối Tân"
    assert not Submission.objects.exists()
    assert not Event.objects.exists()

    job = confirm(run, job)

    assert job.status == ImportJob.STATUS_DONE
    assert (job.count_new, job.count_failed, job.progress) == (3, 0, 100)
    submissions = Submission.objects.order_by("data__person__full_name")
    assert {s.source for s in submissions} == {Submission.SOURCE_IMPORT}
    assert {s.status for s in submissions} == {Submission.STATUS_ACCEPTED}
    assert {s.area.code for s in submissions} == {"22711"}  # the site's commune
    assert submissions.get(data__person__full_name="Trần Thị Bích").data["vaccination_date"] == "2021-08-21"
    assert submissions.get(data__person__full_name="Lê Văn Cường").data["vaccine"] == "pfizer"  # by label
    events = Event.objects.filter(kind=SUBMISSION_ACCEPTED)
    assert sorted(e.payload["client_id"] for e in events) == sorted(str(s.client_id) for s in submissions)


def test_importing_the_same_file_again_changes_nothing(run, it_team, vaccination_form):
    confirm(run, check(run, it_team, vaccination_form, csv_file(GOOD_ROWS)))
    before = sorted(Submission.objects.values_list("pk", "client_id", "data"))

    again = check(run, it_team, vaccination_form, csv_file(GOOD_ROWS))
    assert (again.count_new, again.count_skipped, again.count_failed) == (0, 3, 0)
    again = confirm(run, again)

    assert again.status == ImportJob.STATUS_DONE
    assert sorted(Submission.objects.values_list("pk", "client_id", "data")) == before
    assert Event.objects.count() == 3


def test_an_export_imports_back_as_already_there(run, it_team, vaccination_form):
    """The export's file (keys, a row of labels, client_ids, neutralised cells) round-trips."""
    confirm(run, check(run, it_team, vaccination_form, csv_file(GOOD_ROWS)))
    dataset = SubmissionResource(version=vaccination_form.current_version).export_with_labels(
        Submission.objects.all()
    )
    upload = SimpleUploadedFile("export.csv", dataset.export("csv").encode(), content_type="text/csv")

    job = check(run, it_team, vaccination_form, upload)

    assert (job.count_new, job.count_skipped, job.count_failed) == (0, 3, 0), job.errors


def test_a_form_with_a_workflow_takes_its_rows_into_review(run, it_team, vaccination_form):
    approval_required(vaccination_form)

    confirm(run, check(run, it_team, vaccination_form, csv_file(GOOD_ROWS)))

    assert Submission.objects.count() == 3
    assert set(Submission.objects.values_list("status", flat=True)) == {Submission.STATUS_IN_REVIEW}
    assert all(s.workflow_states.exists() for s in Submission.objects.all())
    assert not Event.objects.filter(kind=SUBMISSION_ACCEPTED).exists()  # not before approval


def test_xlsx_and_json_files_import_like_csv(run, it_team, vaccination_form):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(HEADER)
    workbook.active.append(GOOD_ROWS[0])
    content = io.BytesIO()
    workbook.save(content)
    xlsx = check(run, it_team, vaccination_form, SimpleUploadedFile("a.xlsx", content.getvalue()))
    rows = [dict(zip(HEADER, row, strict=True)) for row in GOOD_ROWS[1:]]
    payload = io.StringIO()
    import json

    json.dump(rows, payload, ensure_ascii=False)
    json_job = check(
        run, it_team, vaccination_form, SimpleUploadedFile("b.json", payload.getvalue().encode())
    )

    assert (xlsx.format, xlsx.count_new, xlsx.count_failed) == ("xlsx", 1, 0), xlsx.errors
    assert (json_job.format, json_job.count_new, json_job.count_failed) == ("json", 2, 0), json_job.errors


# --- bad files: a clear message and nothing changed ---------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("Nguyễn Văn An".encode("utf-16"), "UTF-8"),  # wrong encoding (and NUL bytes)
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "CSV, XLSX"),  # garbage bytes
    ],
)
def test_unreadable_files_are_refused_and_nothing_is_stored(it_team, vaccination_form, content, expected):
    from forms_engine.import_files import FileRefused

    with pytest.raises(FileRefused) as refused:
        import_job_create(
            user=it_team,
            kind="submissions",
            upload=SimpleUploadedFile("x.csv", content),
            form=vaccination_form,
        )
    if expected:
        assert expected in refused.value.message
    assert not ImportJob.objects.exists()


def test_a_file_in_windows_encoding_says_it_is_not_utf8(it_team, vaccination_form):
    from forms_engine.import_files import FileRefused

    with pytest.raises(FileRefused) as refused:
        import_job_create(
            user=it_team,
            kind="submissions",
            upload=csv_file(GOOD_ROWS, encoding="cp1258"),
            form=vaccination_form,
        )
    assert refused.value.message == str(NOT_UTF8)
    assert not ImportJob.objects.exists()


def test_missing_and_unknown_columns_are_named(it_team, vaccination_form):
    from forms_engine.import_files import FileRefused

    header = [c for c in HEADER if c != "dose"] + ["ghi_chu"]
    rows = [[c for i, c in enumerate(r) if HEADER[i] != "dose"] + ["x"] for r in GOOD_ROWS]
    with pytest.raises(FileRefused) as refused:
        import_job_create(
            user=it_team, kind="submissions", upload=csv_file(rows, header), form=vaccination_form
        )

    assert "dose" in refused.value.message and "ghi_chu" in refused.value.message
    assert not ImportJob.objects.exists()


def test_an_oversize_file_is_refused(it_team, vaccination_form, settings):
    from forms_engine.import_files import FileRefused

    settings.IMPORT_MAX_BYTES = 100
    with pytest.raises(FileRefused):
        import_job_create(user=it_team, kind="submissions", upload=csv_file(GOOD_ROWS), form=vaccination_form)
    assert not ImportJob.objects.exists()


def test_bad_dates_fail_their_rows_with_the_validators_message(run, it_team, vaccination_form):
    rows = [
        GOOD_ROWS[0],
        [*GOOD_ROWS[1][:5], "2021-13-45", "TC-SUOITAN"],
        [*GOOD_ROWS[2][:5], "2099-01-01", "TC-SUOITAN"],
    ]

    job = check(run, it_team, vaccination_form, csv_file(rows))

    assert (job.count_new, job.count_failed) == (1, 2)
    assert {(e["row"], e["column"]) for e in job.errors} == {(3, "vaccination_date"), (4, "vaccination_date")}
    assert job.errors[0]["message"] == gettext("Enter a date as YYYY-MM-DD.")
    assert not Submission.objects.exists()


# --- all or nothing, valid rows only ------------------------------------------------------------


def bad_rows():
    return [GOOD_ROWS[0], [*GOOD_ROWS[1][:3], "sinovac", *GOOD_ROWS[1][4:]], GOOD_ROWS[2]]


def test_all_or_nothing_refuses_a_file_with_failed_rows(run, it_team, vaccination_form):
    from forms_engine.import_files import FileRefused

    job = check(run, it_team, vaccination_form, csv_file(bad_rows()))
    assert job.count_failed == 1

    with pytest.raises(FileRefused) as refused:
        import_job_confirm(job=job, all_or_nothing=True)
    assert refused.value.message == str(FIX_OR_CHOOSE)


def test_all_or_nothing_keeps_nothing_when_a_row_fails_during_the_import(run, it_team, vaccination_form):
    job = check(run, it_team, vaccination_form, csv_file(bad_rows()))
    ImportJob.objects.filter(pk=job.pk).update(count_failed=0)  # as if the row broke after the check
    job.refresh_from_db()

    job = confirm(run, job, all_or_nothing=True)

    assert job.status == ImportJob.STATUS_FAILED
    assert "1" in job.message
    assert not Submission.objects.exists()
    assert not Event.objects.exists()


def test_valid_rows_only_imports_the_others_and_lists_the_failed_one(run, it_team, vaccination_form):
    job = confirm(run, check(run, it_team, vaccination_form, csv_file(bad_rows())), all_or_nothing=False)

    assert job.status == ImportJob.STATUS_DONE
    assert (job.count_new, job.count_failed) == (2, 1)
    assert Submission.objects.count() == 2
    assert job.errors == [{"row": 3, "column": "vaccine", "message": job.errors[0]["message"]}]


# --- the importer's area ------------------------------------------------------------------------


def test_rows_of_another_district_fail(run, it_team, vaccination_form):
    rows = [GOOD_ROWS[0], [*GOOD_ROWS[1][:6], "TC-VINHLUONG"]]

    job = confirm(run, check(run, it_team, vaccination_form, csv_file(rows)), all_or_nothing=False)

    assert (job.count_new, job.count_failed) == (1, 1)
    assert "Vĩnh Lương" in job.errors[0]["message"]
    assert list(Submission.objects.values_list("area__code", flat=True)) == ["22711"]


def test_another_districts_import_is_not_found(run, it_team, other_it_team, vaccination_form):
    job = check(run, it_team, vaccination_form, csv_file(GOOD_ROWS))
    client = Client()
    client.force_login(other_it_team)

    for name in ("job", "status", "errors"):
        url = {"job": f"/admin/imports/{job.pk}/", "status": f"/admin/imports/{job.pk}/status.json"}.get(
            name, f"/admin/imports/{job.pk}/errors.csv"
        )
        assert client.get(url).status_code == 404
    assert client.post(f"/admin/imports/{job.pk}/confirm/", {"mode": "valid"}).status_code == 404
    job.refresh_from_db()
    assert job.status == ImportJob.STATUS_CHECKED


# --- the admin screens ---------------------------------------------------------------------------


def test_the_screens_upload_preview_confirm_and_serve_the_errors(
    run, it_team, vaccination_form, django_capture_on_commit_callbacks
):
    client = Client()
    client.force_login(it_team)
    assert client.get("/admin/imports/").status_code == 200
    rows = [*GOOD_ROWS, ["=1+1", "056085000999", "1985", "=2+2", "1", "2021-08-20", "TC-SUOITAN"]]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/imports/", {"kind": "submissions", "form": vaccination_form.pk, "file": csv_file(rows)}
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == f"/admin/imports/{job.pk}/"
    burst()

    page = client.get(f"/admin/imports/{job.pk}/")
    status = client.get(f"/admin/imports/{job.pk}/status.json").json()
    errors = b"".join(client.get(f"/admin/imports/{job.pk}/errors.csv").streaming_content).decode("utf-8-sig")

    assert page.status_code == 200 and "Nguyễn Văn An" in page.content.decode()
    assert status["status"] == "checked" and status["progress"] == 100
    assert status["counts"] == {"new": 3, "updated": 0, "skipped": 0, "failed": 1}
    assert "'=1+1" in errors and "'=2+2" in errors
    assert not any(cell.startswith("=") for line in csv.reader(io.StringIO(errors)) for cell in line)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/imports/{job.pk}/confirm/", {"mode": "valid"})
    burst()
    assert Submission.objects.count() == 3


def test_a_bad_upload_shows_its_message_on_the_form(it_team, vaccination_form):
    client = Client()
    client.force_login(it_team)
    upload = csv_file(GOOD_ROWS, encoding="cp1258")

    response = client.post(
        "/admin/imports/", {"kind": "submissions", "form": vaccination_form.pk, "file": upload}
    )

    assert response.status_code == 200
    assert "UTF-8" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_fast_maker_makes_what_submission_prepare_makes(it_team, vaccination_form):
    """import_submissions.SubmissionMaker copies the first row's submission for the next ones."""
    import uuid

    from forms_engine.import_submissions import ImportValidator, SubmissionMaker
    from forms_engine.services import submission_prepare
    from forms_engine.validation import references_load

    version = vaccination_form.current_version
    maker = SubmissionMaker(form=vaccination_form, version=version, user=it_team)
    made = []
    for name, national_id, year, site in (
        ("Lê Văn A", "056085000111", 1985, "TC-SUOITAN"),
        ("Lê Thị B", "056190000222", 1990, "TC-VINHLUONG"),
    ):
        data = {
            "person": {"full_name": name, "national_id": national_id, "birth_year": year},
            "vaccine": "moderna",
            "dose": "1",
            "vaccination_date": "2021-08-20",
            "site": site,
        }
        validator = ImportValidator(version.schema, form_area=vaccination_form.area)
        result = validator.conclude(references_load(validator.check(data)))
        body = {"client_id": uuid.uuid4(), "data": result.cleaned, "source": Submission.SOURCE_IMPORT}
        reference = submission_prepare(
            form=vaccination_form, version=version, body=body, result=result, qr_place=None, user=it_team
        )
        made.append((maker.make(body=body, result=result), reference))

    for fast, reference in made:
        for f in Submission._meta.concrete_fields:
            if f.name not in ("id", "created_at"):
                assert getattr(fast, f.attname) == getattr(reference, f.attname), f.name
        assert (fast.area, fast.place, fast.form, fast.version) == (
            reference.area,
            reference.place,
            reference.form,
            reference.version,
        )
