"""The Wagtail admin's area, place and user screens, in Vietnamese and scoped by area."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from places.models import Area, GroupRole, Place, UserArea


@pytest.fixture
def places(area_tree):
    return {
        "suoi_dau": Place.objects.create(
            kind=Place.KIND_INDUSTRIAL_PARK,
            name="Khu công nghiệp Suối Dầu",
            area=area_tree["suoi_tan"],
            code="KCN-SUOIDAU",
        ),
        "vinh_luong": Place.objects.create(
            kind=Place.KIND_VACCINATION_SITE,
            name="Điểm tiêm Vĩnh Lương",
            area=area_tree["vinh_luong"],
            code="TC-VL",
            capacity=150,
        ),
    }


@pytest.fixture
def district_it(client, area_tree, make_user):
    user = make_user("cntt.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_AREA_IT_TEAM)
    client.force_login(user)
    return user


@pytest.fixture
def province_admin(client, area_tree, make_user):
    user = make_user("quantri", area=area_tree["province"], role=GroupRole.ROLE_PROVINCE_ADMIN)
    client.force_login(user)
    return user


@pytest.mark.django_db
class TestAreaListing:
    def test_is_in_vietnamese_and_searches_without_accents(self, client, province_admin):
        response = client.get(reverse("areas:index"), {"q": "khanh hoa"})
        html = response.content.decode()
        assert response.status_code == 200
        assert 'lang="vi"' in html
        assert "Tỉnh Khánh Hòa" in html
        assert "Huyện Cam Lâm" not in html

    def test_district_sees_only_its_own_areas(self, client, district_it, area_tree):
        html = client.get(reverse("areas:index")).content.decode()
        assert "Xã Suối Tân" in html
        assert "Xã Vĩnh Lương" not in html
        # The province shows only as Cam Lâm's parent, never as a row of its own.
        assert reverse("areas:edit", args=[area_tree["province"].pk]) not in html

    def test_another_districts_area_answers_404(self, client, district_it, area_tree):
        other = area_tree["vinh_luong"]
        assert client.get(reverse("areas:edit", args=[other.pk])).status_code == 404
        assert client.post(reverse("areas:edit", args=[other.pk]), {"name": "X"}).status_code == 404


@pytest.mark.django_db
class TestAreaEditing:
    def form(self, parent, **overrides):
        data = {
            "name": "Thôn Tân Xương 1",
            "code": "22711-03",
            "level_label": "Thôn",
            "population": "1200",
            "parent": parent.pk if parent else "",
            "location": "",
        }
        return {**data, **overrides}

    def test_created_area_lands_under_its_parent(self, client, province_admin, area_tree):
        response = client.post(reverse("areas:add"), self.form(area_tree["suoi_tan"]))
        assert response.status_code == 302, response.content.decode()[:3000]
        village = Area.objects.get(code="22711-03")
        assert village.get_parent() == area_tree["suoi_tan"]
        assert Area.find_problems() == ([], [], [], [], [])

    def test_moving_an_area_moves_its_subtree(self, client, province_admin, area_tree):
        suoi_tan = area_tree["suoi_tan"]
        data = self.form(area_tree["nha_trang"], name=suoi_tan.name, code=suoi_tan.code, level_label="Xã")
        response = client.post(reverse("areas:edit", args=[suoi_tan.pk]), data)
        assert response.status_code == 302
        assert Area.objects.get(code="22711-02").get_ancestors().filter(code="568").exists()
        assert Area.find_problems() == ([], [], [], [], [])

    def test_area_cannot_move_inside_itself(self, client, province_admin, area_tree):
        cam_lam = area_tree["cam_lam"]
        data = self.form(area_tree["suoi_tan"], name=cam_lam.name, code=cam_lam.code, level_label="Huyện")
        response = client.post(reverse("areas:edit", args=[cam_lam.pk]), data)
        assert response.status_code == 200
        assert Area.objects.get(pk=cam_lam.pk).get_parent().code == "56"

    def test_district_cannot_create_outside_its_area(self, client, district_it, area_tree):
        before = Area.objects.count()
        for parent in (None, area_tree["vinh_luong"]):
            response = client.post(reverse("areas:add"), self.form(parent))
            assert response.status_code == 200
        assert Area.objects.count() == before


@pytest.mark.django_db
class TestPlaces:
    def test_listing_is_scoped_and_searchable_without_accents(self, client, district_it, places):
        html = client.get(reverse("places:index"), {"q": "suoi dau"}).content.decode()
        assert "Khu công nghiệp Suối Dầu" in html
        html = client.get(reverse("places:index")).content.decode()
        assert "Điểm tiêm Vĩnh Lương" not in html

    def test_place_elsewhere_answers_404(self, client, district_it, places):
        assert client.get(reverse("places:edit", args=[places["vinh_luong"].pk])).status_code == 404

    def test_place_cannot_be_put_in_another_area(self, client, district_it, places, area_tree):
        place = places["suoi_dau"]
        data = {
            "name": place.name,
            "kind": place.kind,
            "code": place.code,
            "capacity": "",
            "area": area_tree["vinh_luong"].pk,
            "address": "",
            "location": "",
            "is_active": "on",
        }
        response = client.post(reverse("places:edit", args=[place.pk]), data)
        assert response.status_code == 200
        place.refresh_from_db()
        assert place.area == area_tree["suoi_tan"]

    def test_place_edit_form_has_a_map_without_cdn(self, client, province_admin, places):
        html = client.get(reverse("places:edit", args=[places["suoi_dau"].pk])).content.decode()
        assert "vendor/leaflet/leaflet.js" in html
        assert "unpkg.com" not in html


@pytest.mark.django_db
class TestUsers:
    def test_area_it_team_manages_only_its_areas_users(self, client, district_it, area_tree, make_user):
        inside = make_user("thucdia.suoitan", area=area_tree["suoi_tan"])
        outside = make_user("thucdia.vinhluong", area=area_tree["vinh_luong"])

        html = client.get(reverse("wagtailusers_users:index")).content.decode()
        assert "thucdia.suoitan" in html
        assert "thucdia.vinhluong" not in html
        assert client.get(reverse("wagtailusers_users:edit", args=[outside.pk])).status_code == 404
        assert client.get(reverse("wagtailusers_users:edit", args=[inside.pk])).status_code == 200

    def test_new_user_gets_an_area_inside_the_creators(self, client, district_it, area_tree):
        data = {
            "username": "sinhvien1",
            "email": "sv1@example.invalid",
            "first_name": "Sinh",
            "last_name": "Viên",
            "password1": "Khong-doan-duoc-2021",
            "password2": "Khong-doan-duoc-2021",
        }
        refused = client.post(reverse("wagtailusers_users:add"), {**data, "area": area_tree["vinh_luong"].pk})
        assert refused.status_code == 200
        assert not get_user_model().objects.filter(username="sinhvien1").exists()

        response = client.post(reverse("wagtailusers_users:add"), {**data, "area": area_tree["suoi_tan"].pk})
        assert response.status_code == 302, response.content.decode()[:2000]
        assert UserArea.objects.get(user__username="sinhvien1").area == area_tree["suoi_tan"]
