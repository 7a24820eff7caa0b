"""Area IT teams manage users only within their area, and never above their own role.

Whoever gives a group can log in as the user they gave it to (they set the password), so an
area IT team may give only the IT team and field staff roles; it cannot make superusers or
staff, cannot edit a province admin or a superuser, and cannot change its own groups.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import NoReverseMatch, reverse

from places.models import GroupRole, UserArea
from places.roles import groups_grantable, role_group

User = get_user_model()
pytestmark = pytest.mark.django_db
PASSWORD = "Khong-doan-duoc-2021"


@pytest.fixture
def it_team(client, area_tree, make_user):
    user = make_user("cntt.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_AREA_IT_TEAM)
    client.force_login(user)
    return user


@pytest.fixture
def people(area_tree, make_user):
    """Users inside Cam Lâm (the IT team's district) and outside it."""
    return {
        "volunteer": make_user(
            "sinhvien.suoitan", area=area_tree["suoi_tan"], role=GroupRole.ROLE_FIELD_STAFF
        ),
        "elsewhere": make_user(
            "canbo.vinhluong", area=area_tree["vinh_luong"], role=GroupRole.ROLE_FIELD_STAFF
        ),
        "district_admin": make_user(
            "quantri.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_PROVINCE_ADMIN
        ),
        "approver": make_user("duyet.camlam", area=area_tree["cam_duc"], role=GroupRole.ROLE_APPROVER),
        "root": make_user("sieuquantri", area=area_tree["cam_lam"], superuser=True),
    }


def new_user(area, **extra):
    return {
        "username": "sinhvien2",
        "email": "sv2@example.invalid",
        "first_name": "Sinh",
        "last_name": "Viên",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "area": area.pk,
        **extra,
    }


def edit_data(user, **extra):
    return {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": "on",
        "area": UserArea.objects.get(user=user).area_id,
        "groups": [group.pk for group in user.groups.all()],
        **extra,
    }


class TestListingAndObjects:
    def test_listing_shows_only_the_users_it_may_manage(self, client, it_team, people):
        html = client.get(reverse("wagtailusers_users:index")).content.decode()
        assert "sinhvien.suoitan" in html
        for hidden in ("canbo.vinhluong", "quantri.camlam", "sieuquantri", "duyet.camlam"):
            assert hidden not in html

    @pytest.mark.parametrize("who", ["elsewhere", "district_admin", "root", "approver"])
    @pytest.mark.parametrize("view", ["edit", "delete", "history", "usage"])
    def test_a_user_it_may_not_manage_answers_404(self, client, it_team, people, who, view):
        url = reverse(f"wagtailusers_users:{view}", args=[people[who].pk])
        assert client.get(url).status_code == 404
        assert client.post(url, edit_data(people[who], first_name="X")).status_code == 404
        people[who].refresh_from_db()
        assert people[who].first_name == "Test"

    def test_its_own_users_pages_open(self, client, it_team, people):
        for view in ("edit", "history", "usage"):
            url = reverse(f"wagtailusers_users:{view}", args=[people["volunteer"].pk])
            assert client.get(url).status_code == 200, view

    def test_there_is_no_copy_view(self, client, it_team, people):
        with pytest.raises(NoReverseMatch):
            reverse("wagtailusers_users:copy", args=[people["volunteer"].pk])
        assert client.get(f"/admin/users/copy/{people['elsewhere'].pk}/").status_code == 404


class TestCreating:
    def test_not_in_an_area_outside_its_own_nor_without_one(self, client, it_team, area_tree):
        for area in (area_tree["vinh_luong"], area_tree["province"]):
            assert client.post(reverse("wagtailusers_users:add"), new_user(area)).status_code == 200
        data = new_user(area_tree["suoi_tan"])
        del data["area"]
        assert client.post(reverse("wagtailusers_users:add"), data).status_code == 200
        assert not User.objects.filter(username="sinhvien2").exists()

    @pytest.mark.parametrize(
        "role", [GroupRole.ROLE_PROVINCE_ADMIN, GroupRole.ROLE_APPROVER, GroupRole.ROLE_LEADER]
    )
    def test_not_with_a_role_above_its_own(self, client, it_team, area_tree, role):
        data = new_user(area_tree["suoi_tan"], groups=[role_group(role).pk])
        response = client.post(reverse("wagtailusers_users:add"), data)
        assert response.status_code == 200
        assert "groups" in response.context["form"].errors
        assert not User.objects.filter(username="sinhvien2").exists()

    def test_not_in_a_team_it_is_not_in(self, client, it_team, area_tree):
        team = Group.objects.create(name="Tổ truy vết huyện")
        response = client.post(
            reverse("wagtailusers_users:add"), new_user(area_tree["suoi_tan"], groups=[team.pk])
        )
        assert response.status_code == 200
        assert not User.objects.filter(username="sinhvien2").exists()

    def test_never_a_superuser_nor_staff(self, client, it_team, area_tree):
        data = new_user(
            area_tree["suoi_tan"],
            groups=[role_group(GroupRole.ROLE_FIELD_STAFF).pk],
            is_superuser="on",
            is_staff="on",
        )
        response = client.post(reverse("wagtailusers_users:add"), data)
        assert response.status_code == 302, response.content.decode()[:2000]
        created = User.objects.get(username="sinhvien2")
        assert not created.is_superuser and not created.is_staff
        assert list(created.groups.all()) == [role_group(GroupRole.ROLE_FIELD_STAFF)]
        assert UserArea.objects.get(user=created).area == area_tree["suoi_tan"]

    def test_the_form_offers_only_what_it_may_give(self, client, it_team):
        form = client.get(reverse("wagtailusers_users:add")).context["form"]
        assert "is_superuser" not in form.fields
        offered = {group.product_role.role for group in form.fields["groups"].queryset}
        assert offered == {GroupRole.ROLE_AREA_IT_TEAM, GroupRole.ROLE_FIELD_STAFF}


class TestEditing:
    def test_cannot_raise_a_users_role(self, client, it_team, people):
        volunteer = people["volunteer"]
        data = edit_data(volunteer, groups=[role_group(GroupRole.ROLE_PROVINCE_ADMIN).pk], is_superuser="on")
        response = client.post(reverse("wagtailusers_users:edit", args=[volunteer.pk]), data)
        assert response.status_code == 200
        volunteer.refresh_from_db()
        assert not volunteer.is_superuser
        assert not volunteer.groups.filter(product_role__role=GroupRole.ROLE_PROVINCE_ADMIN).exists()

    def test_can_change_its_users_within_its_rights(self, client, it_team, people, area_tree):
        volunteer = people["volunteer"]
        data = edit_data(volunteer, first_name="Minh", area=area_tree["dong_cau"].pk, is_staff="on")
        response = client.post(reverse("wagtailusers_users:edit", args=[volunteer.pk]), data)
        assert response.status_code == 302, response.content.decode()[:2000]
        volunteer.refresh_from_db()
        assert volunteer.first_name == "Minh" and not volunteer.is_staff
        assert UserArea.objects.get(user=volunteer).area == area_tree["dong_cau"]

    def test_cannot_add_itself_to_groups_nor_make_itself_superuser(self, client, it_team):
        data = edit_data(
            it_team, groups=[role_group(GroupRole.ROLE_PROVINCE_ADMIN).pk], is_superuser="on", is_staff="on"
        )
        client.post(reverse("wagtailusers_users:edit", args=[it_team.pk]), data)
        it_team.refresh_from_db()
        assert not it_team.is_superuser and not it_team.is_staff
        assert list(it_team.groups.values_list("product_role__role", flat=True)) == [
            GroupRole.ROLE_AREA_IT_TEAM
        ]

    def test_cannot_delete_users_at_all(self, client, it_team, people):
        # The role has no right to delete: its own users' delete page is refused (Wagtail sends
        # it back to the dashboard), another area's is not found (404 above).
        url = reverse("wagtailusers_users:delete", args=[people["volunteer"].pk])
        response = client.post(url)
        assert response.status_code == 302 and response.url == reverse("wagtailadmin_home")
        assert User.objects.filter(pk=people["volunteer"].pk).exists()


class TestBulkActions:
    def url(self, action, *users):
        ids = "&".join(f"id={user.pk}" for user in users)
        return f"{reverse('wagtail_bulk_action', args=['auth', 'user', action])}?{ids}"

    @pytest.mark.parametrize("action", ["assign_role", "set_active_state", "delete"])
    def test_a_user_it_may_not_manage_answers_404(self, client, it_team, people, action):
        url = self.url(action, people["volunteer"], people["elsewhere"])
        assert client.get(url).status_code == 404
        data = {"role": role_group(GroupRole.ROLE_FIELD_STAFF).pk, "mark_as_active": ""}
        assert client.post(url, data).status_code == 404
        people["elsewhere"].refresh_from_db()
        assert people["elsewhere"].is_active

    def test_assign_role_offers_only_what_it_may_give(self, client, it_team, people):
        url = self.url("assign_role", people["volunteer"])
        client.post(url, {"role": role_group(GroupRole.ROLE_PROVINCE_ADMIN).pk})
        assert (
            not people["volunteer"].groups.filter(product_role__role=GroupRole.ROLE_PROVINCE_ADMIN).exists()
        )
        client.post(url, {"role": role_group(GroupRole.ROLE_AREA_IT_TEAM).pk})
        assert people["volunteer"].groups.filter(product_role__role=GroupRole.ROLE_AREA_IT_TEAM).exists()


class TestGrants:
    def test_province_admin_gives_every_role_and_team_but_not_superuser(self, area_tree, make_user, client):
        admin = make_user("quantri", area=area_tree["province"], role=GroupRole.ROLE_PROVINCE_ADMIN)
        team = Group.objects.create(name="Ban Tuyên giáo duyệt tài liệu")
        assert set(groups_grantable(user=admin)) == set(Group.objects.all())
        assert team in groups_grantable(user=admin)
        client.force_login(admin)
        form = client.get(reverse("wagtailusers_users:add")).context["form"]
        assert "is_superuser" not in form.fields

    def test_an_it_team_gives_the_teams_it_is_in(self, area_tree, make_user):
        team = Group.objects.create(name="Tổ nhập liệu")
        user = make_user("cntt.x", area=area_tree["cam_lam"], role=GroupRole.ROLE_AREA_IT_TEAM)
        user.groups.add(team)
        granted = set(groups_grantable(user=user))
        assert team in granted
        assert role_group(GroupRole.ROLE_APPROVER) not in granted

    @pytest.mark.parametrize(
        "role",
        [
            GroupRole.ROLE_FIELD_STAFF,
            GroupRole.ROLE_APPROVER,
            GroupRole.ROLE_LEADER,
            GroupRole.ROLE_COMMUNICATIONS,
        ],
    )
    def test_other_roles_give_nothing(self, area_tree, make_user, role):
        user = make_user("x", area=area_tree["cam_lam"], role=role)
        assert not groups_grantable(user=user).exists()
