"""Areas, places and users imported as jobs (places/resources.py), inside the importer's area."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from forms_engine.imports import import_job_confirm, import_job_create
from forms_engine.models import ImportJob
from places.models import Area, GroupRole, Place, UserArea
from tests.workflows.conftest import burst, queues  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def table(header, rows):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile("bang.csv", text.getvalue().encode())


@pytest.fixture
def it_team(area_tree, make_user):
    return make_user("cntt.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_AREA_IT_TEAM)


@pytest.fixture
def imported(queues, django_capture_on_commit_callbacks, it_team):  # noqa: F811
    """Check a file, then import its valid rows, with a real worker; the two jobs' results."""

    def run(kind, upload, *, all_or_nothing=False):
        with django_capture_on_commit_callbacks(execute=True):
            job = import_job_create(user=it_team, kind=kind, upload=upload)
        burst()
        job.refresh_from_db()
        checked = (job.count_new, job.count_updated, job.count_skipped, job.count_failed)
        with django_capture_on_commit_callbacks(execute=True):
            import_job_confirm(job=job, all_or_nothing=all_or_nothing)
        burst()
        job.refresh_from_db()
        return checked, job

    return run


AREA_HEADER = ["code", "name", "level_label", "parent"]


def test_villages_land_under_communes_of_the_importers_district_only(imported, area_tree):
    rows = [
        ["22711-03", "Thôn Suối Lau", "Thôn", "22711"],
        ["22711-03-1", "Tổ 1 Suối Lau", "Tổ dân phố", "22711-03"],  # under the row above
        ["22384-01", "Thôn Vĩnh Lương 1", "Thôn", "22384"],  # Nha Trang: not theirs
        ["22711-09", "Thôn Không Cha", "Thôn", "99999"],
    ]
    checked, job = imported("areas", table(AREA_HEADER, rows))

    assert checked == (2, 0, 0, 2)
    assert job.status == ImportJob.STATUS_DONE and job.count_new == 2
    group = Area.objects.get(code="22711-03-1")
    assert group.get_parent().code == "22711-03" and group.get_parent().get_parent() == area_tree["suoi_tan"]
    assert not Area.objects.filter(code__in=["22384-01", "22711-09"]).exists()
    assert {e["column"] for e in job.errors} == {"parent"}


def test_reimporting_areas_changes_nothing(imported):
    rows = [["22711-03", "Thôn Suối Lau", "Thôn", "22711"]]
    imported("areas", table(AREA_HEADER, rows))
    before = list(Area.objects.values_list("pk", "path", "name"))

    checked, _job = imported("areas", table(AREA_HEADER, rows))

    assert checked == (0, 0, 1, 0)
    assert list(Area.objects.values_list("pk", "path", "name")) == before


def test_places_by_code_in_the_importers_area(imported, area_tree):
    header = ["code", "name", "kind", "area", "capacity"]
    rows = [
        ["tc-suoitan", "Trạm Y tế Suối Tân", "vaccination_site", "22711", "200"],
        ["CK-NHATRANG", "Chốt Nha Trang", "checkpoint", "22384", ""],
        ["CK-CAMDUC", "Chốt Cam Đức", "checkpoint", "22453", "30"],  # a checkpoint has no capacity
    ]
    checked, _job = imported("places", table(header, rows))

    assert checked == (1, 0, 0, 2)
    assert list(Place.objects.values_list("code", "area__code", "capacity")) == [("TC-SUOITAN", "22711", 200)]
    again, _job = imported("places", table(header, rows[:1]))
    assert again == (0, 0, 1, 0)


def test_users_get_an_area_of_the_importers_and_no_one_elses_account_changes(imported, area_tree, make_user):
    outsider = make_user("cb.nhatrang", area=area_tree["nha_trang"])
    header = ["username", "first_name", "last_name", "email", "area"]
    rows = [
        ["tnv.suoitan", "Sinh viên", "Suối Tân", "tnv@example.invalid", "22711"],
        ["cb.nhatrang", "Đổi", "Tên", "x@example.invalid", "22711"],  # another district's user
        ["tnv.vinhluong", "Sinh viên", "Vĩnh Lương", "", "22384"],
    ]
    checked, _job = imported("users", table(header, rows))

    assert checked == (1, 0, 0, 2)
    volunteer = get_user_model().objects.get(username="tnv.suoitan")
    assert UserArea.objects.get(user=volunteer).area.code == "22711"
    assert not volunteer.has_usable_password()
    outsider.refresh_from_db()
    assert outsider.first_name == "Test" and outsider.area_scope.area.code == "568"


def test_users_get_the_groups_the_importer_may_give_and_no_more(imported, area_tree, make_user):
    """An area IT team gives field staff (a role it may give) but not province admin; a user
    holding a group it may not give is not its to change; an empty cell keeps the groups."""
    from django.contrib.auth.models import Group

    from places.roles import roles_ensure

    groups = roles_ensure()
    field_staff, province_admin = groups[GroupRole.ROLE_FIELD_STAFF], groups[GroupRole.ROLE_PROVINCE_ADMIN]
    approver = make_user("pd.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER)
    kept = make_user("tnv.camduc", area=area_tree["cam_duc"], role=GroupRole.ROLE_FIELD_STAFF)
    header = ["username", "first_name", "last_name", "email", "area", "groups"]
    rows = [
        ["tnv.suoitan", "Sinh viên", "Suối Tân", "", "22711", field_staff.name],
        ["qt.suoitan", "Quản", "Trị", "", "22711", f"{field_staff.name}; {province_admin.name}"],
        ["pd.camlam", "Đổi", "Quyền", "", "570", field_staff.name],  # holds a role it may not give
        ["tnv.khongnhom", "Sinh viên", "Không nhóm", "", "22711", "Nhóm không có"],
        ["tnv.camduc", "Test", "User", "", "22453", ""],  # empty: groups unchanged
    ]
    checked, job = imported("users", table(header, rows))

    assert checked == (1, 1, 0, 3), job.errors  # tnv.camduc: names updated, groups kept
    messages = {error["row"]: error["message"] for error in job.errors}
    assert province_admin.name in messages[3] and "Nhóm không có" in messages[5]
    volunteer = get_user_model().objects.get(username="tnv.suoitan")
    assert list(volunteer.groups.all()) == [field_staff]
    assert not get_user_model().objects.filter(username__in=["qt.suoitan", "tnv.khongnhom"]).exists()
    assert set(approver.groups.all()) == {groups[GroupRole.ROLE_APPROVER]}
    assert list(kept.groups.all()) == [field_staff]
    assert Group.objects.filter(name=field_staff.name).count() == 1
