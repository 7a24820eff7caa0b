"""A submission shown as people read it: its version's labels, choice labels, names."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from places.models import Area, Place

from .validation import person_schema


@dataclass
class Row:
    label: str
    value: str
    depth: int = 0


def submission_rows(schema: list[dict], data: dict) -> list[Row]:
    """Rows of (label, readable value) in form order; repeat items and persons indented."""
    names = _names_for(schema, data)
    return list(_rows(schema, data, names, depth=0))


def _rows(fields, values, names, depth):
    for spec in fields:
        key = spec.get("key")
        if spec["type"] == "heading":
            yield Row(spec.get("text", ""), "", depth)
        if not key or key not in values:
            continue
        value = values[key]
        if spec["type"] == "repeat":
            yield Row(spec["label"], str(len(value)), depth)
            for number, item in enumerate(value, start=1):
                yield Row(f"{spec.get('item_label') or spec['label']} {number}", "", depth + 1)
                yield from _rows(spec.get("fields", []), item, names, depth + 2)
        elif spec["type"] == "person":
            yield Row(spec["label"], "", depth)
            yield from _rows(person_schema(spec), value, names, depth + 1)
        else:
            yield Row(spec["label"], readable(spec, value, names), depth)


def readable(spec: dict, value, names: dict) -> str:
    kind = spec["type"]
    if kind == "choice":
        return str(_choice_labels(spec).get(value, value))
    if kind == "multichoice":
        labels = _choice_labels(spec)
        return ", ".join(labels.get(v, v) for v in value)
    if kind == "boolean":
        return _("Yes") if value else _("No")
    if kind in ("area", "place"):
        return names.get((kind, value), value)
    if kind == "geopoint":
        return f"{value['lat']}, {value['lng']}"
    if kind == "file":
        return value.get("upload", "")
    return str(value)


def _choice_labels(spec):
    return {c["value"]: c.get("label", c["value"]) for c in spec.get("choices", [])}


def _names_for(schema, data) -> dict:
    """Names of every area and place the data mentions, fetched in two queries."""
    codes = {"area": set(), "place": set()}
    _collect(schema, data, codes)
    names = {("area", a.code): a.name for a in Area.objects.filter(code__in=codes["area"])}
    names.update({("place", p.code): p.name for p in Place.objects.filter(code__in=codes["place"])})
    return names


def _collect(fields, values, codes):
    for spec in fields:
        value = values.get(spec.get("key")) if spec.get("key") else None
        if value is None:
            continue
        if spec["type"] in codes:
            codes[spec["type"]].add(value)
        elif spec["type"] == "person" and value.get("home_area"):
            codes["area"].add(value["home_area"])
        elif spec["type"] == "repeat":
            for item in value:
                _collect(spec.get("fields", []), item, codes)
