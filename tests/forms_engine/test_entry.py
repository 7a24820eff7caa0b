"""The data-entry screen's server side: who may open it, what it offers, the duplicate hint."""

import json

import pytest
from django.urls import reverse

from places.models import GroupRole
from tests.factories import field, publish_form
from tracing.models import Person

pytestmark = pytest.mark.django_db

FIELDS = [
    field("person", "Người được lấy mẫu", "person", required=True, role="person", birth="year"),
    field("area", "Nơi lấy mẫu", "where", depth=0),
]


@pytest.fixture
def entry_form(home, area_tree):
    return publish_form(home, slug="phieu-lay-mau", fields=FIELDS, area=area_tree["province"], kind="custom")


@pytest.fixture
def volunteer(make_user, area_tree):
    return make_user("sinhvien", area=area_tree["cam_lam"], role=GroupRole.ROLE_FIELD_STAFF)


@pytest.fixture
def persons(area_tree):
    here = Person.objects.create(
        full_name="Nguyễn Thị Hoa",
        name_folded="nguyen thi hoa",
        birth_year=1985,
        national_id="056185000777",
        phone="+84905123456",
        home_area=area_tree["suoi_tan"],
    )
    away = Person.objects.create(
        full_name="Đỗ Văn Xa",
        name_folded="do van xa",
        birth_year=1970,
        national_id="056070000999",
        home_area=area_tree["vinh_luong"],
    )
    return {"here": here, "away": away}


def check(client, form, **query):
    response = client.get(reverse("data_entry_person_check", args=[form.slug]), query)
    assert response.status_code == 200
    return response.json()["matches"]


def test_the_screen_needs_a_login_and_a_form_the_user_may_fill(
    client, entry_form, volunteer, home, area_tree
):
    url = reverse("data_entry", args=[entry_form.slug])
    assert client.get(url).status_code == 302  # to the login
    client.force_login(volunteer)
    assert client.get(url).status_code == 200
    elsewhere = publish_form(home, slug="chi-nha-trang", fields=FIELDS, area=area_tree["nha_trang"])
    assert client.get(reverse("data_entry", args=[elsewhere.slug])).status_code == 404
    assert client.get(reverse("data_entry", args=["khong-co"])).status_code == 404
    assert elsewhere.title not in client.get(reverse("data_entry_index")).content.decode()


def test_a_user_without_an_area_gets_404(client, entry_form, make_user):
    client.force_login(make_user("lac", role=GroupRole.ROLE_FIELD_STAFF))
    assert client.get(reverse("data_entry", args=[entry_form.slug])).status_code == 404
    assert client.get(reverse("data_entry_person_check", args=[entry_form.slug])).status_code == 404


def test_the_areas_offered_are_the_users_own(client, entry_form, volunteer):
    client.force_login(volunteer)
    html = client.get(reverse("data_entry", args=[entry_form.slug])).content.decode()
    config = json.loads(html.split('id="entry-config" type="application/json">')[1].split("</script>")[0])
    codes = {area["code"] for area in config["areas"]}
    assert {"570", "22711", "22711-02"} <= codes and "568" not in codes and "22384" not in codes


def test_duplicate_hint_names_only_persons_in_scope_by_initials(client, entry_form, volunteer, persons):
    client.force_login(volunteer)
    [hint] = check(client, entry_form, national_id="056185000777")
    assert "N. T. H." in hint and "1985" in hint and "Xã Suối Tân" in hint and "Hoa" not in hint
    [hint] = check(client, entry_form, phone="0905 123 456", full_name="nguyen thi hoa", birth_year="1985")
    assert "N. T. H." in hint
    assert check(client, entry_form, phone="0905123456", full_name="Nguyễn Thị Hoa", birth_year="1986") == []
    assert check(client, entry_form, national_id="056070000999") == []  # in Nha Trang: never named


def test_duplicate_hint_takes_hostile_input_calmly(client, entry_form, volunteer, persons):
    client.force_login(volunteer)
    assert check(client, entry_form, national_id="x" * 10000, full_name="é" * 10000, birth_year="abc") == []
    assert check(client, entry_form, national_id="' OR 1=1 --") == []
    response = client.post(reverse("data_entry_person_check", args=[entry_form.slug]), {"national_id": "1"})
    assert response.status_code == 405


def test_without_the_right_to_see_persons_the_hint_names_no_one(
    client, entry_form, make_user, area_tree, persons
):
    client.force_login(make_user("cntt", area=area_tree["cam_lam"], role=GroupRole.ROLE_AREA_IT_TEAM))
    [hint] = check(client, entry_form, national_id="056185000777")
    assert "N. T. H." not in hint and "1985" not in hint
