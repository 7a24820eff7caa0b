"""Field keys: made once from the label, unique, and locked once a form has submissions."""

import re

from django.utils.translation import gettext_lazy as _

from places.folding import fold

from .schema import fields_schema, iter_fields

KEY_MAX_LENGTH = 40
DUPLICATE_KEY = _("Two fields have the key “%(key)s”; keys must be unique.")
KEY_LOCKED = _("The key of “%(label)s” cannot change from “%(old)s” to “%(new)s”: the form has submissions.")
TYPE_LOCKED = _(
    "“%(label)s” (key %(key)s) was of type %(old)s and cannot become %(new)s: the form has submissions. "
    "Add a new field instead."
)


def key_from_label(label: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", fold(label)).strip("_")[:KEY_MAX_LENGTH].strip("_")
    if not key or not key[0].isalpha():
        key = f"f_{key}" if key else "field"
    return key


def assign_keys(stream) -> list[str]:
    """Give every data field without a key one made from its label; report duplicates."""
    errors, seen = [], set()
    for child in stream:
        if "label" not in child.value:
            continue  # headings and info text carry no data
        if not child.value.get("key"):
            child.value["key"] = _unique(key_from_label(child.value["label"]), seen)
        key = child.value["key"]
        if key in seen:
            errors.append(DUPLICATE_KEY % {"key": key})
        seen.add(key)
        if child.block_type == "repeat":
            errors += assign_keys(child.value["fields"])
    return errors


def _unique(key: str, seen: set[str]) -> str:
    candidate, number = key, 2
    while candidate in seen:
        candidate = f"{key}_{number}"
        number += 1
    return candidate


def check_against_version(stream, published_schema: list[dict]) -> list[str]:
    """Changes that would break data already submitted: a renamed key, a changed type."""
    before = {path: field for path, field in iter_fields(published_schema)}
    before_by_id = {field["id"]: path for path, field in before.items() if field.get("id")}
    errors = []
    for path, field in iter_fields(fields_schema(stream)):
        old_path = before_by_id.get(field.get("id")) if field.get("id") else None
        if old_path and old_path != path:
            errors.append(KEY_LOCKED % {"label": field["label"], "old": old_path, "new": path})
        elif path in before and before[path]["type"] != field["type"]:
            changed = {
                "label": field["label"],
                "key": path,
                "old": before[path]["type"],
                "new": field["type"],
            }
            errors.append(TYPE_LOCKED % changed)
    return errors
