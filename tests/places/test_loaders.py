import json
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from places.loaders import (
    CSV_EMPTY_VALUE,
    CSV_MISSING_COLUMNS,
    CSV_UNKNOWN_PARENT,
    PROVINCE_NOT_FOUND,
    UNKNOWN_LAYOUT,
    AreaDataError,
    load_areas_file,
    load_villages_csv,
    package_data_path,
)
from places.models import Area

FIXTURES = Path(__file__).parent / "fixtures"
THREE_LEVEL = FIXTURES / "three_level.json"
TWO_LEVEL = FIXTURES / "two_level.json"


def message(template, **values) -> str:
    """The error text a user reads (in the active language, Vietnamese by default)."""
    return re.escape(str(template) % values if values else str(template))


def tree_snapshot():
    return sorted(Area.objects.values_list("code", "name", "level_label", "depth", "path"))


@pytest.mark.django_db
class TestThreeLevelLayout:
    def test_loads_province_district_commune(self):
        result = load_areas_file(THREE_LEVEL)

        assert result.counts["created"] == 10
        ninh_thuy = Area.objects.get(code="22567")
        assert [a.name for a in ninh_thuy.get_ancestors()] == ["Tỉnh Khánh Hòa", "Thị xã Ninh Hòa"]
        assert ninh_thuy.depth == 3
        assert ninh_thuy.level_label == "Phường"  # from the name, not the package's "xã"
        assert Area.objects.get(code="572").level_label == "Thị xã"
        assert Area.find_problems() == ([], [], [], [], [])

    def test_codes_are_padded_per_level_so_levels_never_collide(self):
        load_areas_file(THREE_LEVEL)

        assert Area.objects.get(code="01").name == "Thành phố Hà Nội"
        assert Area.objects.get(code="001").name == "Quận Ba Đình"
        assert Area.objects.get(code="00001").name == "Phường Phúc Xá"

    def test_reload_is_idempotent(self):
        load_areas_file(THREE_LEVEL)
        before = tree_snapshot()

        result = load_areas_file(THREE_LEVEL)

        assert tree_snapshot() == before
        assert result.counts["created"] == 0
        assert result.counts["unchanged"] == 10

    def test_one_province_by_accentless_name_or_code(self):
        load_areas_file(THREE_LEVEL, province="khanh hoa")
        assert not Area.objects.filter(code="01").exists()
        assert Area.objects.count() == 7

        load_areas_file(THREE_LEVEL, province="1")
        assert Area.objects.filter(code="01").exists()

    def test_unknown_province_is_refused_and_loads_nothing(self):
        with pytest.raises(AreaDataError, match=message(PROVINCE_NOT_FOUND, query="Đà Lạt")):
            load_areas_file(THREE_LEVEL, province="Đà Lạt")
        assert Area.objects.count() == 0

    def test_renamed_and_moved_units_are_updated_in_place(self, tmp_path):
        load_areas_file(THREE_LEVEL)
        data = json.loads(THREE_LEVEL.read_text(encoding="utf-8"))
        nha_trang, ninh_hoa = data[0]["districts"]
        vinh_luong = nha_trang["wards"].pop()
        vinh_luong["name"] = "Xã Vĩnh Lương Mới"
        ninh_hoa["wards"].append(vinh_luong)
        changed = tmp_path / "changed.json"
        changed.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        pk = Area.objects.get(code="22384").pk

        result = load_areas_file(changed)

        moved = Area.objects.get(code="22384")
        assert moved.pk == pk
        assert moved.name == "Xã Vĩnh Lương Mới"
        assert moved.get_parent().code == "572"
        assert result.counts["moved"] == 1
        assert Area.objects.count() == 10
        assert Area.find_problems() == ([], [], [], [], [])


@pytest.mark.django_db
class TestTwoLevelLayout:
    def test_loads_wards_directly_under_the_province(self):
        result = load_areas_file(TWO_LEVEL)

        assert result.counts["created"] == 4
        truong_sa = Area.objects.get(code="22736")
        assert truong_sa.depth == 2
        assert truong_sa.get_parent().code == "56"
        assert truong_sa.level_label == "Đặc khu"

    def test_reload_is_idempotent(self):
        load_areas_file(TWO_LEVEL)
        before = tree_snapshot()
        load_areas_file(TWO_LEVEL)
        assert tree_snapshot() == before


@pytest.mark.django_db
def test_file_of_another_shape_is_refused(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "X", "code": 1}]), encoding="utf-8")
    with pytest.raises(AreaDataError, match=message(UNKNOWN_LAYOUT)):
        load_areas_file(bad)
    assert Area.objects.count() == 0


@pytest.mark.django_db
def test_command_loads_the_pinned_package_for_one_province():
    call_command("load_areas", province="Khánh Hòa", stdout=open("/dev/null", "w"))  # noqa: SIM115

    province = Area.objects.get(code="56")
    assert province.get_children().count() == 9  # the 2021 districts
    assert province.get_descendant_count() == 141
    assert package_data_path().exists()


@pytest.mark.django_db
def test_command_reports_errors_clearly(tmp_path):
    with pytest.raises(CommandError, match=message(PROVINCE_NOT_FOUND, query="Atlantis")):
        call_command("load_areas", province="Atlantis", file=THREE_LEVEL)


# --- villages from CSV ------------------------------------------------------------------


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.django_db
class TestVillagesCsv:
    HEADER = "parent_code,code,name,level_label\n"

    def test_villages_load_under_communes_and_reload_is_idempotent(self, tmp_path, area_tree):
        csv_file = write_csv(
            tmp_path / "v.csv",
            self.HEADER + "22384,22384-01,Thôn Văn Đăng 1,Thôn\n22384,22384-02,Thôn  Cát Lợi ,Thôn\n",
        )
        load_villages_csv(csv_file)
        before = tree_snapshot()
        result = load_villages_csv(csv_file)

        assert tree_snapshot() == before
        assert result.counts["unchanged"] == 2
        village = Area.objects.get(code="22384-02")
        assert village.name == "Thôn Cát Lợi"
        assert village.get_parent() == area_tree["vinh_luong"]

    def test_missing_columns_are_named(self, tmp_path, area_tree):
        csv_file = write_csv(tmp_path / "v.csv", "parent_code,name\n22384,Thôn A\n")
        with pytest.raises(AreaDataError, match=message(CSV_MISSING_COLUMNS, columns="code, level_label")):
            load_villages_csv(csv_file)

    def test_unknown_parent_changes_nothing(self, tmp_path, area_tree):
        before = tree_snapshot()
        csv_file = write_csv(
            tmp_path / "v.csv",
            self.HEADER + "22384,22384-01,Thôn A,Thôn\n99999,99999-01,Thôn B,Thôn\n",
        )
        with pytest.raises(AreaDataError, match=message(CSV_UNKNOWN_PARENT, line=3, code="99999")):
            load_villages_csv(csv_file)
        assert tree_snapshot() == before

    def test_empty_value_is_refused(self, tmp_path, area_tree):
        csv_file = write_csv(tmp_path / "v.csv", self.HEADER + "22384,,Thôn A,Thôn\n")
        with pytest.raises(AreaDataError, match=message(CSV_EMPTY_VALUE, line=2, column="code")):
            load_villages_csv(csv_file)

    def test_command_turns_bad_encoding_into_a_clear_error(self, tmp_path, area_tree):
        bad = tmp_path / "v.csv"
        bad.write_bytes(self.HEADER.encode() + "22384,1,Thôn Ạ,Thôn\n".encode("utf-16"))
        with pytest.raises(CommandError):
            call_command("load_villages", str(bad))
