"""Everything held about one person, exported from their page on request: within scope only,
other people by id only, and recorded in the audit trail."""

import json
import uuid
from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessRecord
from forms_engine.models import Submission
from places.folding import fold
from places.models import GroupRole, Place
from tests.factories import field, publish_form
from tests.forms_engine.conftest import home  # noqa: F401 - fixture
from tracing.models import (
    Alert,
    CheckIn,
    Classification,
    Contact,
    Person,
    PersonMerge,
    QuarantineCheckIn,
    QuarantineOrder,
    SubmissionPerson,
    TestRequest,
)

pytestmark = pytest.mark.django_db

OTHER_NAME = "Lê Văn Người Khác"
OTHER_PHONE = "+84905999888"


def person(name, area, **fields) -> Person:
    return Person.objects.create(full_name=name, name_folded=fold(name), home_area=area, **fields)


def submission(form, data, *, area, place=None) -> Submission:
    return Submission.objects.create(
        form=form,
        version=form.current_version,
        client_id=uuid.uuid4(),
        data=data,
        data_hash=uuid.uuid4().hex,
        area=area,
        place=place,
    )


@pytest.fixture
def held(home, area_tree):  # noqa: F811
    """Hương, with a row of every kind that names her, and Khác, who named her as a contact."""
    area = area_tree["dong_cau"]
    huong = person(
        "Đỗ Thị Hương", area, birth_year=1988, phone="+84905123123", national_id="056188000123", level="F1"
    )
    other = person(OTHER_NAME, area, phone=OTHER_PHONE, level="F0")
    duplicate = person("Do Thi Huong", area, merged_into=huong)
    form = publish_form(
        home,
        slug="phieu",
        area=area_tree["province"],
        kind="tracing",
        fields=[
            field("person", "Người", "person", role="person", birth="year"),
            field(
                "repeat", "Tiếp xúc", "contacts", role="contacts", fields=[field("short_text", "Tên", "name")]
            ),
        ],
    )
    own = submission(form, {"person": {"full_name": "Đỗ Thị Hương", "phone": "+84905123123"}}, area=area)
    others = submission(
        form,
        {"person": {"full_name": OTHER_NAME, "phone": OTHER_PHONE}, "contacts": [{"name": "Đỗ Thị Hương"}]},
        area=area,
    )
    SubmissionPerson.objects.create(submission=own, path="person", person=huong)
    SubmissionPerson.objects.create(submission=others, path="person", person=other)
    SubmissionPerson.objects.create(submission=others, path="contacts.0", person=huong)
    Classification.objects.create(
        person=huong, level_from="", level="F1", case=other, source_submission=others
    )
    Contact.objects.create(person=other, contact=huong, setting="household", found_by="interview")
    order = QuarantineOrder.objects.create(
        person=huong, kind="home", area=area, start_date=date(2021, 8, 1), planned_end=date(2021, 8, 14)
    )
    QuarantineCheckIn.objects.create(
        order=order, submission=submission(form, {}, area=area), date=date(2021, 8, 2)
    )
    venue = Place.objects.create(kind=Place.KIND_VENUE, name="Chợ Suối Tân", code="DD-CHOST", area=area)
    CheckIn.objects.create(
        person=huong, place=venue, at=timezone.now(), submission=submission(form, {}, area=area, place=venue)
    )
    TestRequest.objects.create(person=huong, reason=TestRequest.REASON_F1, area=area)
    Alert.objects.create(key="fever:1", kind=Alert.KIND_FEVER, person=huong, area=area, message="Sốt 38,2 °C")
    PersonMerge.objects.create(kept=huong, absorbed=duplicate)
    return {"huong": huong, "other": other, "own": own, "others": others}


def export_url(person: Person) -> str:
    return reverse("persons:export_data", args=[person.pk])


@pytest.fixture
def district_staff(client, area_tree, make_user):
    user = make_user("truyvet.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER)
    client.force_login(user)
    return user


def test_the_export_holds_everything_about_the_person(client, held, district_staff):
    response = client.get(export_url(held["huong"]))

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="person-{held["huong"].pk}.json"'
    data = json.loads(response.content)
    assert data["person"]["full_name"] == "Đỗ Thị Hương" and data["person"]["national_id"] == "056188000123"
    assert data["person"]["home_area"]["code"] == "22711-02"
    assert [(s["id"], s["named_at"]) for s in data["submissions"]] == [
        (held["own"].pk, "person"),
        (held["others"].pk, "contacts.0"),
    ]
    for key in (
        "levels",
        "contacts",
        "quarantine_orders",
        "qr_checkins",
        "test_requests",
        "alerts",
        "merges",
    ):
        assert len(data[key]) == 1, key
    assert len(data["quarantine_orders"][0]["checkins"]) == 1
    assert data["contacts"][0] == data["contacts"][0] | {
        "direction": "named_by",
        "other_person": held["other"].pk,
    }


def test_other_people_appear_by_id_only(client, held, district_staff):
    """Of Khác's interview only the item naming Hương; Khác's own name and phone nowhere."""
    text = client.get(export_url(held["huong"])).content.decode()
    named_by_other = next(s for s in json.loads(text)["submissions"] if s["named_at"] == "contacts.0")
    assert named_by_other["data"] == {"name": "Đỗ Thị Hương"}
    assert OTHER_NAME not in text and OTHER_PHONE not in text


def test_the_export_is_audited(client, held, district_staff):
    client.get(export_url(held["huong"]))
    record = AccessRecord.objects.get(action="export", kind="person_data")
    assert (record.user, record.object_id, record.outcome) == (
        district_staff,
        str(held["huong"].pk),
        "exported",
    )


def test_the_person_page_offers_it(client, held, district_staff):
    page = client.get(reverse("persons:inspect", args=[held["huong"].pk])).content.decode()
    assert export_url(held["huong"]) in page


def test_a_person_outside_the_scope_is_404(client, held, area_tree, make_user):
    user = make_user("truyvet.nhatrang", area=area_tree["nha_trang"], role=GroupRole.ROLE_APPROVER)
    client.force_login(user)
    assert client.get(export_url(held["huong"])).status_code == 404
    assert not AccessRecord.objects.filter(action="export").exists()


def test_users_who_may_not_see_persons_are_refused(client, held, area_tree, make_user):
    client.force_login(
        make_user("truyenthong", area=area_tree["province"], role=GroupRole.ROLE_COMMUNICATIONS)
    )
    refused = client.get(export_url(held["huong"]))
    assert refused.status_code in (302, 403, 404)  # Wagtail sends those without admin access home
    assert "056188000123" not in refused.content.decode()
    client.logout()
    assert client.get(export_url(held["huong"]))["Location"].startswith("/admin/login/")
    assert not AccessRecord.objects.filter(action="export").exists()
