"""Exports of one form's submissions with django-import-export: a column per field key.

The first row holds the keys, the second the version's labels (Vietnamese for the demo),
then one row per submission. Cells that a spreadsheet would run as a formula are neutralised.
"""

import json

from django.utils.translation import gettext_lazy as _
from import_export import fields, resources

from .models import FormVersion, Submission
from .validation import person_schema

FIXED_COLUMNS = (
    ("id", "#"),
    ("client_id", "client_id"),
    ("version", _("version")),
    ("status", _("status")),
    ("source", _("source")),
    ("area", _("area")),
    ("place", _("place")),
    ("created_at", _("received at")),
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def data_columns(schema: list[dict]) -> list[tuple[str, str]]:
    """(path, label) of every exported value; a person's parts get columns of their own."""
    columns = []
    for spec in schema:
        if not spec.get("key"):
            continue
        if spec["type"] == "person":
            columns += [
                (f"{spec['key']}.{sub['key']}", f"{spec['label']} – {sub['label']}")
                for sub in person_schema(spec)
            ]
        else:
            columns.append((spec["key"], spec["label"]))
    return columns


def cell(value):
    """A value as one spreadsheet cell: lists and objects as JSON, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def lookup(data: dict, path: str):
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


class SubmissionResource(resources.ModelResource):
    """Submissions of one form version's layout; ``version`` fixes the data columns."""

    class Meta:
        model = Submission
        fields = ()

    def __init__(self, *, version: FormVersion):
        super().__init__()
        self.columns = [*FIXED_COLUMNS, *data_columns(version.schema)]
        self.fields = {path: fields.Field(attribute=path, column_name=path) for path, _label in self.columns}

    def export_field(self, field, instance, **kwargs):
        path = field.column_name
        fixed = {
            "id": instance.pk,
            "client_id": str(instance.client_id),
            "version": instance.version.number,
            "status": instance.status,
            "source": instance.source,
            "area": instance.area.code if instance.area else "",
            "place": instance.place.code if instance.place else "",
            "created_at": instance.created_at.isoformat(timespec="seconds"),
        }
        return cell(fixed[path] if path in fixed else lookup(instance.data, path))

    def export_with_labels(self, queryset):
        dataset = self.export(queryset=queryset.select_related("version", "area", "place"))
        dataset.insert(0, [str(label) for _path, label in self.columns])
        return dataset
