import pytest
from django.contrib.auth.models import AnonymousUser

from places.folding import fold
from places.models import Area, GroupRole, Place
from places.selectors import (
    area_ancestors,
    area_search,
    areas_visible_to,
    is_in_scope,
    place_search,
    scope_queryset,
    with_parent_name,
)


def names(queryset):
    return sorted((a.name for a in queryset), key=fold)


def test_fold_removes_every_vietnamese_diacritic():
    assert fold("  Khánh   Hòa ") == "khanh hoa"
    assert fold("Đắk Lắk – Ượi Ễ") == "dak lak – uoi e"


@pytest.mark.django_db
class TestTreeQueries:
    def test_subtree_is_one_query_at_any_depth(self, area_tree, django_assert_num_queries):
        cam_lam = area_tree["cam_lam"]
        with django_assert_num_queries(1):
            subtree = names(cam_lam.subtree())
        assert subtree == ["Huyện Cam Lâm", "Thị trấn Cam Đức", "Thôn Đồng Cau", "Xã Suối Tân"]
        assert names(cam_lam.subtree(include_self=False)) == subtree[1:]

    def test_ancestors_are_one_query_from_the_top_down(self, area_tree, django_assert_num_queries):
        with django_assert_num_queries(1):
            chain = [a.code for a in area_ancestors(area=area_tree["dong_cau"], include_self=True)]
        assert chain == ["56", "570", "22711", "22711-02"]
        assert [a.code for a in area_ancestors(area=area_tree["province"])] == []

    def test_parent_name_is_annotated_in_the_same_query(self, area_tree, django_assert_num_queries):
        with django_assert_num_queries(1):
            parents = {a.code: a.parent_name for a in with_parent_name(Area.objects.all())}
        assert parents["22711-02"] == "Xã Suối Tân"
        assert parents["56"] is None

    def test_contains(self, area_tree):
        assert area_tree["cam_lam"].contains(area_tree["dong_cau"])
        assert not area_tree["nha_trang"].contains(area_tree["dong_cau"])


@pytest.mark.django_db
class TestAccentInsensitiveSearch:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("khanh hoa", ["Tỉnh Khánh Hòa"]),
            ("KHÁNH HÒA", ["Tỉnh Khánh Hòa"]),
            ("vinh luong", ["Xã Vĩnh Lương"]),
            ("dong cau", ["Thôn Đồng Cau"]),
            ("cam", ["Huyện Cam Lâm", "Thị trấn Cam Đức"]),
            ("570", ["Huyện Cam Lâm"]),
        ],
    )
    def test_areas(self, area_tree, query, expected):
        assert names(area_search(Area.objects.all(), query=query)) == expected

    def test_places_by_name_or_code(self, area_tree):
        Place.objects.create(
            kind=Place.KIND_INDUSTRIAL_PARK,
            name="Khu công nghiệp Suối Dầu",
            area=area_tree["suoi_tan"],
            code="KCN-SUOIDAU",
        )
        assert [p.code for p in place_search(Place.objects.all(), query="suoi dau")] == ["KCN-SUOIDAU"]
        assert [p.code for p in place_search(Place.objects.all(), query="kcn-suoidau")] == ["KCN-SUOIDAU"]
        assert list(place_search(Place.objects.all(), query="ninh thuy")) == []


@pytest.mark.django_db
class TestAreaScope:
    def test_province_user_sees_the_whole_province(self, area_tree, make_user):
        user = make_user("tinh", area=area_tree["province"], role=GroupRole.ROLE_LEADER)
        assert areas_visible_to(user=user).count() == 7

    def test_district_user_sees_only_the_district(self, area_tree, make_user):
        user = make_user("huyen", area=area_tree["cam_lam"], role=GroupRole.ROLE_AREA_IT_TEAM)
        assert names(areas_visible_to(user=user)) == [
            "Huyện Cam Lâm",
            "Thị trấn Cam Đức",
            "Thôn Đồng Cau",
            "Xã Suối Tân",
        ]

    def test_commune_user_sees_the_commune_and_its_villages(self, area_tree, make_user):
        user = make_user("xa", area=area_tree["suoi_tan"], role=GroupRole.ROLE_FIELD_STAFF)
        assert names(areas_visible_to(user=user)) == ["Thôn Đồng Cau", "Xã Suối Tân"]

    def test_deny_by_default(self, area_tree, make_user):
        no_area = make_user("khong")
        inactive = make_user("nghi", area=area_tree["province"])
        inactive.is_active = False
        assert areas_visible_to(user=no_area).count() == 0
        assert areas_visible_to(user=inactive).count() == 0
        assert areas_visible_to(user=AnonymousUser()).count() == 0

    def test_superuser_sees_everything(self, area_tree, make_user):
        assert areas_visible_to(user=make_user("root", superuser=True)).count() == 7

    def test_other_models_are_scoped_through_their_area(self, area_tree, make_user):
        inside = Place.objects.create(kind=Place.KIND_CHECKPOINT, name="Chốt A", area=area_tree["dong_cau"])
        outside = Place.objects.create(
            kind=Place.KIND_CHECKPOINT, name="Chốt B", area=area_tree["vinh_luong"]
        )
        user = make_user("huyen", area=area_tree["cam_lam"])

        assert list(scope_queryset(Place.objects.all(), user=user)) == [inside]
        assert is_in_scope(inside, user=user)
        assert not is_in_scope(outside, user=user)

    def test_a_sibling_with_a_longer_path_prefix_is_not_inside(self, make_user, db):
        # Paths are fixed-width steps, so "0001" never prefixes a sibling such as "00010"…
        province = Area.add_root(code="99", name="Tỉnh Thử", level_label="Tỉnh")
        districts = [
            province.add_child(code=f"9{n:02d}", name=f"Huyện {n}", level_label="Huyện") for n in range(12)
        ]
        user = make_user("h1", area=districts[1])
        assert names(areas_visible_to(user=user)) == ["Huyện 1"]


@pytest.mark.django_db
def test_place_code_is_generated_and_capacity_only_where_it_applies(area_tree):
    from django.core.exceptions import ValidationError

    checkpoint = Place(kind=Place.KIND_CHECKPOINT, name="Chốt", area=area_tree["suoi_tan"], capacity=10)
    with pytest.raises(ValidationError) as error:
        checkpoint.full_clean()
    assert "capacity" in error.value.message_dict

    facility = Place.objects.create(
        kind=Place.KIND_QUARANTINE_FACILITY, name="Khu cách ly", area=area_tree["suoi_tan"], capacity=200
    )
    assert facility.code.startswith("CL-") and len(facility.code) == 8
    facility.full_clean()

    facility.location = Place.location_from(12.1, 109.08)
    assert (facility.latitude, facility.longitude) == (12.1, 109.08)
