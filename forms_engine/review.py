"""The approver's screen: a submission's values as fields labelled by its form version.

Wagtail's snippet edit view shows this form beside the workflow's Approve / Reject actions.
A correction saves a new revision (logged, in the submission's history); approving publishes
the latest revision, corrections included. Corrections pass the same SubmissionValidator as
the phone and the API, so an approver cannot store what a field officer could not.
"""

import json

from django import forms
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import ObjectList, Panel

from .display import submission_rows
from .services import derive_area_and_place
from .validation import SubmissionValidator, person_schema

JSON_TYPES = {"repeat", "geopoint", "file"}  # edited as JSON: rarely corrected, nested
DATE_INPUTS = {"date": "date", "datetime": "datetime-local", "time": "time"}


def field_name(path: str) -> str:
    return "data__" + path.replace(".", "__")


def editable_fields(schema: list[dict]) -> list[tuple[str, dict]]:
    """(path, spec) of every value an approver may correct, in form order; a person's parts
    one by one (a misspelt name is the commonest correction)."""
    found = []
    for spec in schema:
        key = spec.get("key")
        if not key:
            continue
        if spec["type"] == "person":
            found += [(f"{key}.{sub['key']}", sub) for sub in person_schema(spec)]
        else:
            found.append((key, spec))
    return found


def form_field(spec: dict, label: str) -> forms.Field:
    kind, help_text = spec["type"], spec.get("help_text", "")
    options = {"label": label, "required": False, "help_text": help_text}
    if kind == "choice":
        return forms.ChoiceField(choices=[("", "—"), *_choices(spec)], **options)
    if kind == "multichoice":
        return forms.MultipleChoiceField(
            choices=_choices(spec), widget=forms.CheckboxSelectMultiple, **options
        )
    if kind == "boolean":
        return forms.NullBooleanField(widget=forms.NullBooleanSelect, **options)
    if kind in JSON_TYPES:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "class": "monospace"}), **options)
    if kind == "textarea":
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **options)
    if kind in DATE_INPUTS:
        return forms.CharField(widget=forms.TextInput(attrs={"type": DATE_INPUTS[kind]}), **options)
    return forms.CharField(**options)


def _choices(spec):
    return [(c["value"], c.get("label") or c["value"]) for c in spec.get("choices", [])]


def initial_value(spec: dict, value):
    if value is None:
        return None
    if spec["type"] in JSON_TYPES:
        return json.dumps(value, ensure_ascii=False, indent=1)
    if spec["type"] == "datetime":
        return str(value)[:16]  # what a datetime-local input shows
    return value


def parsed_value(spec: dict, value):
    """The form's value as the API would have received it (the validator does the rest)."""
    if value in (None, "", []):
        return None
    if spec["type"] in JSON_TYPES:
        return json.loads(value)  # ValueError: reported on the field
    return value


class SubmissionReviewForm(WagtailAdminModelForm):
    """Fields made from the submission's own form version; ``data`` is rebuilt and validated."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.paths: dict[str, tuple[str, dict]] = {}
        version = self.instance.version if self.instance.version_id else None
        for path, spec in editable_fields(version.schema if version else []):
            name = field_name(path)
            self.paths[name] = (path, spec)
            self.fields[name] = form_field(spec, self._label(path, version.schema))
            self.initial[name] = initial_value(spec, _lookup(self.instance.data, path))

    @staticmethod
    def _label(path: str, schema: list[dict]) -> str:
        top = next(s for s in schema if s.get("key") == path.split(".")[0])
        if "." not in path:
            return top["label"]
        sub = next(s for s in person_schema(top) if s["key"] == path.split(".")[1])
        return f"{top['label']} › {sub['label']}"

    def clean(self):
        cleaned = super().clean()
        data = {}
        for name, (path, spec) in self.paths.items():
            try:
                value = parsed_value(spec, cleaned.get(name))
            except ValueError:
                self.add_error(name, _("Enter valid JSON."))
                continue
            if value is not None:
                _store(data, path, value)
        if self.errors:
            return cleaned
        self.result = self._validator().validate(data)
        for path, messages in self.result.errors.items():
            name = field_name(path)
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        return cleaned

    def _validator(self) -> SubmissionValidator:
        form = self.instance.form
        return SubmissionValidator(self.instance.version.schema, form_area=form.area)

    def save(self, commit=True):
        submission = super().save(commit=False)
        if getattr(self, "result", None) is not None and not self.result.errors:
            submission.data = self.result.cleaned
            area, place = derive_area_and_place(
                version=submission.version, result=self.result, qr_place=None, fallback_area=submission.area
            )
            submission.area, submission.place = area, place or submission.place
        if commit:
            submission.save()
        return submission


def _lookup(data: dict, path: str):
    value = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _store(data: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[last] = value


class SubmissionEditHandler(ObjectList):
    """The review screen; its value fields are rendered by SubmissionDataPanel only (Wagtail
    would render every form field no panel names a second time, as a "missing" field)."""

    class BoundPanel(ObjectList.BoundPanel):
        def render_missing_fields(self):
            claimed = set(getattr(self.form, "paths", {})) | set(
                self.panel.get_form_options().get("fields", [])
            )
            missing = [str(self.form[name]) for name in self.form.fields if name not in claimed]
            return mark_safe("".join(missing))  # noqa: S308 - the form's own rendering


class SubmissionDataPanel(Panel):
    """The correctable values; the fields come from the form class, not from panel options."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "forms_engine/admin/submission_data_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["data_fields"] = [self.form[name] for name in getattr(self.form, "paths", {})]
            return context


class SubmissionFactsPanel(Panel):
    """What the approver needs around the values: form, version, who, where, when, status."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "forms_engine/admin/submission_facts_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            submission = self.instance
            context["submission"] = submission
            context["as_sent"] = (
                submission_rows(submission.version.schema, submission.data) if submission.version_id else []
            )
            return context


FACTS_HEADING = gettext_lazy("Submission")
DATA_HEADING = gettext_lazy("Values (corrections are kept as a new revision)")
