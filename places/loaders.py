"""Load administrative areas into the tree: from the `vietnam-provinces` data, or a CSV.

Loading is an upsert keyed on the official code: running it again updates names and
levels, moves a unit whose parent changed, and never duplicates a row.
"""

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .folding import fold
from .models import Area

# Official codes are zero-padded by level (province 2 digits, district 3, commune 5), which
# also keeps them unique across levels: province 1 is "01", district 1 is "001".
CODE_WIDTHS = {"province": 2, "district": 3, "ward": 5}

# Level words as they begin official names; longest first so "Thành phố" wins over nothing.
LEVEL_PREFIXES = (
    "Thành phố",
    "Thị xã",
    "Thị trấn",
    "Đặc khu",
    "Huyện",
    "Quận",
    "Tỉnh",
    "Phường",
    "Xã",
)

UNKNOWN_LAYOUT = gettext_lazy("Unrecognised administrative data: expected 'districts' or 'wards'.")
PROVINCE_NOT_FOUND = gettext_lazy("No province or city matches “%(query)s”.")
CSV_MISSING_COLUMNS = gettext_lazy("The CSV file lacks the columns: %(columns)s.")
CSV_UNKNOWN_PARENT = gettext_lazy("Line %(line)d: there is no area with code %(code)s above it.")
CSV_EMPTY_VALUE = gettext_lazy("Line %(line)d: the column %(column)s is empty.")
CSV_COLUMNS = ("parent_code", "code", "name", "level_label")


class AreaDataError(ValueError):
    """Input data that cannot be loaded; the message is for the person loading it."""


@dataclass
class AreaRecord:
    code: str
    name: str
    level_label: str
    children: list["AreaRecord"] = field(default_factory=list)


@dataclass
class LoadResult:
    counts: Counter = field(default_factory=Counter)

    def __str__(self):
        return _("created %(created)d, updated %(updated)d, moved %(moved)d, unchanged %(unchanged)d") % {
            "created": self.counts["created"],
            "updated": self.counts["updated"],
            "moved": self.counts["moved"],
            "unchanged": self.counts["unchanged"],
        }


def level_label_from_name(name: str, fallback: str) -> str:
    """The level word an official name starts with ("Thị xã Ninh Hòa" -> "Thị xã")."""
    for prefix in LEVEL_PREFIXES:
        if name.startswith(prefix + " "):
            return prefix
    return fallback.capitalize()


def padded(code, level: str) -> str:
    return str(code).zfill(CODE_WIDTHS[level])


# --- vietnam-provinces data ----------------------------------------------------------------


def package_data_path() -> Path:
    import vietnam_provinces

    return Path(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH)


def records_from_nested_json(data: list[dict]) -> list[AreaRecord]:
    """Province records from the package's nested JSON, in either layout.

    The 2021-era layout nests ``districts`` then ``wards``; the 2025 layout, after the
    districts were abolished, nests ``wards`` directly under the province.
    """
    return [_province_record(province) for province in data]


def _province_record(province: dict) -> AreaRecord:
    record = _record(province, "province")
    if "districts" in province:
        record.children = [_district_record(district) for district in province["districts"]]
    elif "wards" in province:
        record.children = [_record(ward, "ward") for ward in province["wards"]]
    else:
        raise AreaDataError(str(UNKNOWN_LAYOUT))
    return record


def _district_record(district: dict) -> AreaRecord:
    record = _record(district, "district")
    record.children = [_record(ward, "ward") for ward in district.get("wards", [])]
    return record


def _record(entry: dict, level: str) -> AreaRecord:
    name = entry["name"]
    return AreaRecord(
        code=padded(entry["code"], level),
        name=name,
        level_label=level_label_from_name(name, entry.get("division_type", level)),
    )


def select_provinces(records: list[AreaRecord], query: str | None) -> list[AreaRecord]:
    """All provinces, or the one whose code or accent-folded name matches ``query``."""
    if not query:
        return records
    wanted = fold(query)
    code = query.strip().zfill(CODE_WIDTHS["province"]) if query.strip().isdigit() else None
    for record in records:
        bare_name = fold(record.name.removeprefix(record.level_label).strip())
        if record.code == code or wanted in {fold(record.name), bare_name}:
            return [record]
    raise AreaDataError(PROVINCE_NOT_FOUND % {"query": query})


def load_areas_file(path: Path, *, province: str | None = None) -> LoadResult:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise AreaDataError(str(UNKNOWN_LAYOUT))
    return areas_upsert(select_provinces(records_from_nested_json(data), province))


# --- the upsert ----------------------------------------------------------------------------


@transaction.atomic
def areas_upsert(records: list[AreaRecord], parent: Area | None = None) -> LoadResult:
    """Create, update or move ``records`` (and their children) under ``parent``."""
    result = LoadResult()
    _upsert_level(records, parent, result)
    return result


def _upsert_level(records: list[AreaRecord], parent: Area | None, result: LoadResult) -> None:
    existing = Area.objects.in_bulk([r.code for r in records], field_name="code")
    nodes = {}
    to_update = []
    for record in records:
        area = existing.get(record.code)
        if area is None:
            continue
        if not _is_child_of(area, parent):
            area = _move(area, parent)
            result.counts["moved"] += 1
            if _apply(area, record):
                to_update.append(area)
        elif _apply(area, record):
            to_update.append(area)
            result.counts["updated"] += 1
        else:
            result.counts["unchanged"] += 1
        nodes[record.code] = area
    Area.objects.bulk_update(to_update, ["name", "name_folded", "level_label"])
    new_records = [r for r in records if r.code not in existing]
    nodes.update(_create_children(new_records, parent))
    result.counts["created"] += len(new_records)
    for record in records:
        if record.children:
            _upsert_level(record.children, nodes[record.code], result)


def _is_child_of(area: Area, parent: Area | None) -> bool:
    if parent is None:
        return area.depth == 1
    return area.depth == parent.depth + 1 and area.path.startswith(parent.path)


def _move(area: Area, parent: Area | None) -> Area:
    if parent is None:
        area.move(Area.get_last_root_node(), "last-sibling")
    else:
        area.move(parent, "last-child")
    return Area.objects.get(pk=area.pk)


def _apply(area: Area, record: AreaRecord) -> bool:
    """Copy the record's values onto ``area``; True when anything changed."""
    changed = (area.name, area.level_label) != (record.name, record.level_label)
    area.name, area.level_label = record.name, record.level_label
    area.name_folded = fold(record.name)
    return changed


def _create_children(records: list[AreaRecord], parent: Area | None) -> dict[str, Area]:
    """Bulk-insert new nodes after the parent's last child, computing their paths."""
    if not records:
        return {}
    depth = parent.depth + 1 if parent else 1
    siblings = Area.objects.filter(depth=depth)
    if parent:
        siblings = siblings.filter(path__startswith=parent.path)
    last_path = siblings.aggregate(last=Max("path"))["last"]
    last_step = Area._str2int(last_path[-Area.steplen :]) if last_path else 0
    parent_path = parent.path if parent else ""
    new_areas = [
        Area(
            code=record.code,
            name=record.name,
            name_folded=fold(record.name),
            level_label=record.level_label,
            depth=depth,
            path=Area._get_path(parent_path, depth, last_step + offset),
            numchild=0,
        )
        for offset, record in enumerate(records, start=1)
    ]
    Area.objects.bulk_create(new_areas, batch_size=1000)
    if parent:
        # Not parent.get_children(): treebeard trusts the in-memory numchild we are fixing.
        parent.numchild = siblings.count()
        Area.objects.filter(pk=parent.pk).update(numchild=parent.numchild)
    return {area.code: area for area in Area.objects.filter(code__in=[r.code for r in records])}


# --- villages and residential groups from CSV ----------------------------------------------


def load_villages_csv(path: Path) -> LoadResult:
    """Villages (thôn) and residential groups (tổ dân phố) from a CSV file.

    Columns: ``parent_code`` (the commune's official code), ``code``, ``name``,
    ``level_label``. No package ships this level, so each province supplies its own list.
    """
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
        header = rows[0].keys() if rows else []
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise AreaDataError(CSV_MISSING_COLUMNS % {"columns": ", ".join(missing)})
    by_parent = _group_village_rows(rows)
    parents = Area.objects.in_bulk(list(by_parent), field_name="code")
    for parent_code, (line, _records) in by_parent.items():
        if parent_code not in parents:
            raise AreaDataError(CSV_UNKNOWN_PARENT % {"line": line, "code": parent_code})
    result = LoadResult()
    with transaction.atomic():
        for parent_code, (_line, records) in by_parent.items():
            _upsert_level(records, parents[parent_code], result)
    return result


def _group_village_rows(rows: list[dict]) -> dict[str, tuple[int, list[AreaRecord]]]:
    """Rows grouped by parent code, remembering the first line of each (for errors)."""
    grouped: dict[str, tuple[int, list[AreaRecord]]] = {}
    for line, row in enumerate(rows, start=2):
        values = {column: re.sub(r"\s+", " ", (row.get(column) or "")).strip() for column in CSV_COLUMNS}
        for column, value in values.items():
            if not value:
                raise AreaDataError(CSV_EMPTY_VALUE % {"line": line, "column": column})
        record = AreaRecord(code=values["code"], name=values["name"], level_label=values["level_label"])
        grouped.setdefault(values["parent_code"], (line, []))[1].append(record)
    return grouped
