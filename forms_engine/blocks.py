"""The field blocks an admin adds to a form. Each knows how to describe itself in the schema.

``to_schema(value)`` turns a block's stored value into its schema entry; the schema (not
the blocks) is what the validator and the phone renderer read.
"""

from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from places.models import Place

ROLE_CHOICES = [
    ("person", _("Person")),
    ("direction", _("Direction (in/out)")),
    ("place", _("Place")),
    ("origin", _("Origin")),
    ("destination", _("Destination")),
    ("area", _("Area")),
    ("vehicle", _("Vehicle")),
    ("vehicle_plate", _("Vehicle plate")),
    ("reason", _("Reason")),
    ("travel_permit", _("Travel permit")),
    ("vaccination_status", _("Vaccination status")),
    ("symptoms", _("Symptoms")),
    ("companions", _("Companions")),
    ("workplace", _("Workplace")),
    ("workshop", _("Workshop / department")),
    ("interview_subject", _("Interviewee: case or contact")),
    ("onset_date", _("Onset date")),
    ("sample_date", _("Sample date")),
    ("itinerary", _("Itinerary")),
    ("contacts", _("Contacts")),
    ("relationship", _("Relationship")),
    ("setting", _("Exposure setting")),
    ("exposure_date", _("Exposure date")),
    ("quarantine_type", _("Quarantine type")),
    ("temperature", _("Temperature")),
    ("spo2", _("SpO2")),
    ("vaccine", _("Vaccine")),
    ("dose", _("Dose number")),
    ("vaccination_date", _("Vaccination date")),
    ("lot_number", _("Lot number")),
    ("reaction", _("Reaction after vaccination")),
    ("test_type", _("Test type")),
    ("pooled_sample_id", _("Pooled sample id")),
    ("test_result", _("Test result")),
    ("ct_value", _("Ct value")),
    ("lab", _("Laboratory")),
    ("exposure", _("Exposure")),
    ("travel_history", _("Travel history")),
    ("consent", _("Consent")),
    ("release_date", _("End of quarantine date")),
]

OPERATOR_CHOICES = [
    ("eq", _("equals")),
    ("ne", _("does not equal")),
    ("in", _("is one of (comma-separated)")),
    ("gt", _("is greater than")),
    ("lt", _("is less than")),
    ("set", _("has a value")),
]


class ConditionBlock(blocks.StructBlock):
    field = blocks.CharBlock(label=_("field key"))
    op = blocks.ChoiceBlock(choices=OPERATOR_CHOICES, default="eq", label=_("condition"))
    value = blocks.CharBlock(required=False, label=_("value"))

    class Meta:
        icon = "view"


class ShowIfBlock(blocks.StructBlock):
    mode = blocks.ChoiceBlock(
        choices=[("all", _("all conditions hold")), ("any", _("any condition holds"))],
        default="all",
        label=_("show when"),
    )
    conditions = blocks.ListBlock(ConditionBlock(), default=[], label=_("conditions"))

    class Meta:
        label = _("show only if")
        collapsed = True
        form_classname = "show-if"


def _typed_value(text: str):
    """Condition values are typed as text in the editor; numbers and booleans compare as such."""
    lowered = text.strip().lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text.strip()


def show_if_schema(value) -> dict | None:
    if not value or not value.get("conditions"):
        return None
    conditions = []
    for condition in value["conditions"]:
        raw = condition.get("value") or ""
        if condition["op"] == "in":
            typed = [_typed_value(part) for part in raw.split(",") if part.strip()]
        else:
            typed = _typed_value(raw)
        conditions.append({"field": condition["field"].strip(), "op": condition["op"], "value": typed})
    return {value.get("mode") or "all": conditions}


class FieldBlock(blocks.StructBlock):
    """What every data field has: label, key, help, required, role, conditions, validation."""

    field_type = None  # the schema's "type"

    label = blocks.CharBlock(label=_("label"))
    key = blocks.RegexBlock(
        regex=r"^[a-z][a-z0-9_]*$",
        required=False,
        label=_("key"),
        help_text=_("Left empty, made from the label. It cannot change once the form has submissions."),
        error_messages={"invalid": _("Use lower-case letters, digits and _ , starting with a letter.")},
    )
    help_text = blocks.CharBlock(required=False, label=_("help text"))
    required = blocks.BooleanBlock(required=False, default=False, label=_("required"))
    role = blocks.ChoiceBlock(choices=ROLE_CHOICES, required=False, label=_("role"))
    show_if = ShowIfBlock(required=False)

    class Meta:
        icon = "form"

    def to_schema(self, value) -> dict:
        return {
            "key": value.get("key") or "",
            "type": self.field_type,
            "label": value.get("label") or "",
            "help_text": value.get("help_text") or "",
            "required": bool(value.get("required")),
            "role": value.get("role") or None,
            "show_if": show_if_schema(value.get("show_if")),
            "validation": self.validation_schema(value),
            **self.extra_schema(value),
        }

    def validation_schema(self, value) -> dict:
        return {}

    def extra_schema(self, value) -> dict:
        return {}


class TextValidationMixin(blocks.StructBlock):
    min_length = blocks.IntegerBlock(required=False, min_value=0, label=_("minimum length"))
    max_length = blocks.IntegerBlock(required=False, min_value=1, label=_("maximum length"))
    pattern = blocks.CharBlock(required=False, label=_("pattern (regular expression)"))
    pattern_message = blocks.CharBlock(required=False, label=_("message when the pattern does not match"))

    def validation_schema(self, value) -> dict:
        names = ("min_length", "max_length", "pattern", "pattern_message")
        return {name: value[name] for name in names if value.get(name) not in (None, "")}


class ShortTextBlock(TextValidationMixin, FieldBlock):
    field_type = "text"

    class Meta:
        label = _("Short text")
        icon = "pilcrow"


class LongTextBlock(TextValidationMixin, FieldBlock):
    field_type = "textarea"

    class Meta:
        label = _("Long text")
        icon = "doc-full"


class NumberBlock(FieldBlock):
    field_type = "number"
    decimal = blocks.BooleanBlock(required=False, label=_("allow decimals"))
    decimal_places = blocks.IntegerBlock(required=False, min_value=0, max_value=6, label=_("decimal places"))
    min_value = blocks.DecimalBlock(required=False, label=_("minimum"))
    max_value = blocks.DecimalBlock(required=False, label=_("maximum"))

    class Meta:
        label = _("Number")
        icon = "order"

    def extra_schema(self, value) -> dict:
        def number(raw):
            return None if raw is None else float(raw) if value.get("decimal") else int(raw)

        return {
            "decimal": bool(value.get("decimal")),
            "decimal_places": value.get("decimal_places"),
            "min": number(value.get("min_value")),
            "max": number(value.get("max_value")),
        }


class DateBlock(FieldBlock):
    field_type = "date"
    allow_future = blocks.BooleanBlock(required=False, default=True, label=_("allow future dates"))

    class Meta:
        label = _("Date")
        icon = "date"

    def extra_schema(self, value) -> dict:
        return {"allow_future": bool(value.get("allow_future"))}


class DateTimeBlock(DateBlock):
    field_type = "datetime"

    class Meta:
        label = _("Date and time")
        icon = "time"


class TimeBlock(FieldBlock):
    field_type = "time"

    class Meta:
        label = _("Time")
        icon = "time"


class YesNoBlock(FieldBlock):
    field_type = "boolean"
    must_be_yes = blocks.BooleanBlock(
        required=False,
        label=_("must be yes"),
        help_text=_("For consent: the form cannot be sent without a yes."),
    )

    class Meta:
        label = _("Yes / no")
        icon = "tick-inverse"

    def extra_schema(self, value) -> dict:
        return {"must_be_yes": bool(value.get("must_be_yes"))}


class ChoiceOptionBlock(blocks.StructBlock):
    value = blocks.RegexBlock(
        regex=r"^[a-z0-9][a-z0-9_\-]*$",
        label=_("stored value"),
        error_messages={"invalid": _("Use lower-case letters, digits, _ and -.")},
    )
    label = blocks.CharBlock(label=_("label"))


class SingleChoiceBlock(FieldBlock):
    field_type = "choice"
    choices = blocks.ListBlock(ChoiceOptionBlock(), min_num=1, label=_("choices"))

    class Meta:
        label = _("Single choice")
        icon = "list-ul"

    def extra_schema(self, value) -> dict:
        return {"choices": [{"value": c["value"], "label": c["label"]} for c in value.get("choices") or []]}


class MultipleChoiceBlock(SingleChoiceBlock):
    field_type = "multichoice"
    min_selected = blocks.IntegerBlock(required=False, min_value=0, label=_("at least"))
    max_selected = blocks.IntegerBlock(required=False, min_value=1, label=_("at most"))

    class Meta:
        label = _("Multiple choice")
        icon = "list-ol"

    def extra_schema(self, value) -> dict:
        return {
            **super().extra_schema(value),
            "min_selected": value.get("min_selected"),
            "max_selected": value.get("max_selected"),
        }


class PhoneBlock(FieldBlock):
    field_type = "phone"

    class Meta:
        label = _("Phone number")
        icon = "mobile-alt"


class NationalIdBlock(FieldBlock):
    field_type = "national_id"
    accept = blocks.MultipleChoiceBlock(
        choices=[("cccd", _("12-digit citizen ID (CCCD)")), ("cmnd", _("9-digit ID card (CMND)"))],
        default=["cccd", "cmnd"],
        label=_("accept"),
    )

    class Meta:
        label = _("National ID")
        icon = "user"

    def extra_schema(self, value) -> dict:
        return {"accept": list(value.get("accept") or ["cccd", "cmnd"])}


class PersonBlock(FieldBlock):
    field_type = "person"
    birth = blocks.ChoiceBlock(
        choices=[
            ("either", _("date or year of birth")),
            ("date", _("date of birth")),
            ("year", _("year of birth")),
        ],
        default="either",
        label=_("birth"),
    )
    require_national_id = blocks.BooleanBlock(required=False, label=_("national ID required"))
    require_phone = blocks.BooleanBlock(required=False, label=_("phone required"))

    class Meta:
        label = _("Person")
        icon = "user"

    def extra_schema(self, value) -> dict:
        return {
            "birth": value.get("birth") or "either",
            "require_national_id": bool(value.get("require_national_id")),
            "require_phone": bool(value.get("require_phone")),
        }


class AreaPickerBlock(FieldBlock):
    field_type = "area"
    depth = blocks.IntegerBlock(
        required=False,
        min_value=0,
        max_value=8,
        default=0,
        label=_("down to level"),
        help_text=_("1 province, 2 district, 3 commune, 4 village; 0 as deep as the tree goes."),
    )

    class Meta:
        label = _("Area picker")
        icon = "site"

    def extra_schema(self, value) -> dict:
        return {"depth": value.get("depth") or 0}


class PlacePickerBlock(FieldBlock):
    field_type = "place"
    kinds = blocks.MultipleChoiceBlock(choices=Place.KIND_CHOICES, required=False, label=_("kinds of place"))

    class Meta:
        label = _("Place picker")
        icon = "pick"

    def extra_schema(self, value) -> dict:
        return {"kinds": list(value.get("kinds") or [])}


class GeoPointBlock(FieldBlock):
    field_type = "geopoint"

    class Meta:
        label = _("Location (GPS)")
        icon = "location"


class FileBlock(FieldBlock):
    field_type = "file"
    accept = blocks.MultipleChoiceBlock(
        choices=[
            ("image/jpeg", "JPEG"),
            ("image/png", "PNG"),
            ("image/webp", "WebP"),
            ("application/pdf", "PDF"),
        ],
        default=["image/jpeg", "image/png"],
        label=_("accepted types"),
    )
    max_size_mb = blocks.IntegerBlock(default=5, min_value=1, max_value=20, label=_("maximum size (MB)"))

    class Meta:
        label = _("Photo or file")
        icon = "image"

    def extra_schema(self, value) -> dict:
        return {"accept": list(value.get("accept") or []), "max_size_mb": value.get("max_size_mb") or 5}


class HeadingBlock(blocks.StructBlock):
    """A section heading: not data, no key."""

    text = blocks.CharBlock(label=_("heading"))
    field_type = "heading"

    class Meta:
        label = _("Section heading")
        icon = "title"

    def to_schema(self, value) -> dict:
        return {"key": "", "type": self.field_type, "text": value.get("text") or "", "show_if": None}


class InfoBlock(HeadingBlock):
    text = blocks.TextBlock(label=_("text"))
    field_type = "info"

    class Meta:
        label = _("Information text")
        icon = "help"


def _simple_field_blocks():
    return [
        ("short_text", ShortTextBlock()),
        ("long_text", LongTextBlock()),
        ("number", NumberBlock()),
        ("date", DateBlock()),
        ("datetime", DateTimeBlock()),
        ("time", TimeBlock()),
        ("yes_no", YesNoBlock()),
        ("single_choice", SingleChoiceBlock()),
        ("multiple_choice", MultipleChoiceBlock()),
        ("phone", PhoneBlock()),
        ("national_id", NationalIdBlock()),
        ("person", PersonBlock()),
        ("area", AreaPickerBlock()),
        ("place", PlacePickerBlock()),
        ("geopoint", GeoPointBlock()),
        ("file", FileBlock()),
        ("heading", HeadingBlock()),
        ("info", InfoBlock()),
    ]


class RepeatGroupBlock(FieldBlock):
    field_type = "repeat"
    item_label = blocks.CharBlock(
        required=False, label=_("name of one item"), help_text=_("e.g. Người tiếp xúc")
    )
    min_items = blocks.IntegerBlock(required=False, min_value=0, default=0, label=_("at least"))
    max_items = blocks.IntegerBlock(required=False, min_value=1, default=50, label=_("at most"))
    fields = blocks.StreamBlock(_simple_field_blocks(), label=_("fields of each item"))

    class Meta:
        label = _("Repeat group")
        icon = "list-ul"

    def extra_schema(self, value) -> dict:
        return {
            "item_label": value.get("item_label") or "",
            "min_items": value.get("min_items") or 0,
            "max_items": value.get("max_items") or 50,
            "fields": [
                {**child.block.to_schema(child.value), "id": child.id} for child in value.get("fields") or []
            ],
        }


class FormFieldsBlock(blocks.StreamBlock):
    """The stream of fields on a FormPage."""

    def __init__(self, **kwargs):
        super().__init__([*_simple_field_blocks(), ("repeat", RepeatGroupBlock())], **kwargs)
