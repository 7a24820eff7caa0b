"""Server-side validation of a submission against its form version's schema.

The same schema drives the phone page's checks (static/forms_engine/form.js); docs/forms.md
is the contract both follow. Errors are keyed by dotted field path (``contacts.2.phone``)
and messages are translated into the active language.
"""

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

import phonenumbers
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from places.models import Area, Place

EMPTY = (None, "", [], {})
TEXT_MAX = {"text": 500, "textarea": 5000}
PERSON_SEXES = {"female": gettext_lazy("Female"), "male": gettext_lazy("Male")}
PERSON_LABELS = {
    "full_name": gettext_lazy("Full name"),
    "birth_date": gettext_lazy("Date of birth"),
    "birth_year": gettext_lazy("Year of birth"),
    "sex": gettext_lazy("Sex"),
    "national_id": gettext_lazy("Citizen ID / ID card"),
    "phone": gettext_lazy("Phone"),
    "home_area": gettext_lazy("Home area"),
    "address": gettext_lazy("Address"),
}
CLOCK_SKEW = timedelta(minutes=10)  # phones' clocks run a little fast


def is_empty(value) -> bool:
    return value in EMPTY or (isinstance(value, str) and not value.strip())


@dataclass
class References:
    """Area and place codes met during validation, resolved together in two queries."""

    areas: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)
    places: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)
    uploads: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)


@dataclass
class Found:
    """The objects that References named, by area code, place code and upload id."""

    areas: dict[str, Area] = field(default_factory=dict)
    places: dict[str, Place] = field(default_factory=dict)
    uploads: dict = field(default_factory=dict)


def references_load(refs: References) -> Found:
    """Look the references up through the ORM (the async ingest lane has its own lookups)."""
    from .models import Upload

    return Found(
        areas=Area.objects.in_bulk(list(refs.areas), field_name="code") if refs.areas else {},
        places=(
            Place.objects.select_related("area").in_bulk(list(refs.places), field_name="code")
            if refs.places
            else {}
        ),
        uploads=(
            {str(k): v for k, v in Upload.objects.in_bulk(list(refs.uploads)).items()} if refs.uploads else {}
        ),
    )


@dataclass
class Result:
    cleaned: dict
    errors: dict[str, list[str]]
    areas: dict[str, Area]  # resolved, by path of the field that named them
    places: dict[str, Place]

    @property
    def is_valid(self) -> bool:
        return not self.errors


class SubmissionValidator:
    """Validates ``data`` against ``fields`` (a version's schema) inside ``form_area``."""

    def __init__(self, fields: list[dict], *, form_area: Area, scope_area: Area | None = None):
        self.fields = fields
        self.form_area = form_area
        self.scope_area = scope_area  # a staff user's own area: picked areas must lie in it

    def validate(self, data) -> Result:
        """Check ``data`` and look up the areas, places and uploads it names."""
        self.check(data)
        return self.conclude(references_load(self.refs))

    def check(self, data) -> References:
        """Every rule that needs no database; returns what must still be looked up."""
        self.errors: dict[str, list[str]] = {}
        self.refs = References()
        if not isinstance(data, dict):
            self.error("", _("The data must be an object of field values."))
            self.cleaned = {}
        else:
            self.cleaned = self.clean_group(self.fields, data, data, prefix="")
        return self.refs

    def conclude(self, found: Found) -> Result:
        """The result once the references ``check`` returned are looked up."""
        self.check_uploads(found.uploads)
        areas, places = self.resolve_areas(found.areas), self.resolve_places(found.places)
        return Result(self.cleaned, self.errors, areas, places)

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path or "__all__", []).append(message)

    # --- groups and visibility --------------------------------------------------------------

    def clean_group(self, fields: list[dict], values: dict, top: dict, prefix: str) -> dict:
        cleaned = {}
        for spec in fields:
            key = spec.get("key")
            if not key:
                continue  # headings and info text
            if not self.is_visible(spec, fields, values, top):
                continue  # a hidden field is never required and its value is dropped
            path = f"{prefix}{key}"
            value = values.get(key)
            if is_empty(value):
                if spec.get("required"):
                    self.error(path, _("This field is required."))
                continue
            result = self.clean_value(spec, value, path, top)
            if result is not None:
                cleaned[key] = result
        return cleaned

    def is_visible(self, spec: dict, siblings: list[dict], values: dict, top: dict, seen=None) -> bool:
        condition = spec.get("show_if")
        if not condition:
            return True
        seen = (seen or set()) | {spec["key"]}
        mode, conditions = next(iter(condition.items()))
        outcomes = (self.condition_holds(c, siblings, values, top, seen) for c in conditions)
        return all(outcomes) if mode == "all" else any(outcomes)

    def condition_holds(self, condition: dict, siblings, values, top, seen) -> bool:
        name = condition.get("field")
        sibling = next((s for s in siblings if s.get("key") == name), None)
        scope = values if sibling is not None else top
        spec = sibling or next((s for s in self.fields if s.get("key") == name), None)
        if spec is None or name in seen:
            return False
        hidden = not self.is_visible(spec, siblings if sibling else self.fields, scope, top, seen)
        return compare(None if hidden else scope.get(name), condition.get("op"), condition.get("value"))

    # --- values -----------------------------------------------------------------------------

    def clean_value(self, spec: dict, value, path: str, top: dict):
        cleaner = getattr(self, f"clean_{spec['type']}", None)
        if cleaner is None:
            return None
        return cleaner(spec, value, path, top)

    def clean_text(self, spec, value, path, top):
        if not isinstance(value, str):
            return self.error(path, _("Enter text."))
        text = value.strip()
        rules = spec.get("validation") or {}
        maximum = min(rules.get("max_length") or TEXT_MAX[spec["type"]], TEXT_MAX[spec["type"]])
        if rules.get("min_length") and len(text) < rules["min_length"]:
            return self.error(path, _("Enter at least %(n)d characters.") % {"n": rules["min_length"]})
        if len(text) > maximum:
            return self.error(path, _("Enter at most %(n)d characters.") % {"n": maximum})
        if rules.get("pattern") and not safe_fullmatch(rules["pattern"], text):
            return self.error(
                path, rules.get("pattern_message") or _("The value is not in the expected format.")
            )
        return text

    clean_textarea = clean_text

    def clean_number(self, spec, value, path, top):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return self.error(path, _("Enter a number."))
        try:
            number = Decimal(str(value).strip().replace(",", "."))
        except InvalidOperation:
            return self.error(path, _("Enter a number."))
        if not number.is_finite():
            return self.error(path, _("Enter a number."))
        if not spec.get("decimal") and number != number.to_integral_value():
            return self.error(path, _("Enter a whole number."))
        places = spec.get("decimal_places")
        if spec.get("decimal") and places is not None and -number.as_tuple().exponent > places:
            return self.error(path, _("Use at most %(n)d decimal places.") % {"n": places})
        if spec.get("min") is not None and number < Decimal(str(spec["min"])):
            return self.error(path, _("Enter a number of at least %(n)s.") % {"n": spec["min"]})
        if spec.get("max") is not None and number > Decimal(str(spec["max"])):
            return self.error(path, _("Enter a number of at most %(n)s.") % {"n": spec["max"]})
        return float(number) if spec.get("decimal") else int(number)

    def clean_date(self, spec, value, path, top):
        try:
            parsed = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
        except ValueError:
            parsed = None
        if parsed is None:
            return self.error(path, _("Enter a date as YYYY-MM-DD."))
        if not spec.get("allow_future", True) and parsed > timezone.localdate():
            return self.error(path, _("The date cannot be in the future."))
        return parsed.isoformat()

    def clean_datetime(self, spec, value, path, top):
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            return self.error(path, _("Enter a date and time."))
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        if not spec.get("allow_future", True) and parsed > timezone.now() + CLOCK_SKEW:
            return self.error(path, _("The time cannot be in the future."))
        return timezone.localtime(parsed).isoformat(timespec="minutes")

    def clean_time(self, spec, value, path, top):
        try:
            parsed = time.fromisoformat(value) if isinstance(value, str) and len(value) in (5, 8) else None
        except ValueError:
            parsed = None
        if parsed is None:
            return self.error(path, _("Enter a time as HH:MM."))
        return parsed.strftime("%H:%M")

    def clean_boolean(self, spec, value, path, top):
        if not isinstance(value, bool):
            return self.error(path, _("Answer yes or no."))
        if spec.get("must_be_yes") and value is not True:
            return self.error(path, _("You must agree to continue."))
        return value

    def clean_choice(self, spec, value, path, top):
        if not isinstance(value, str) or value not in {c["value"] for c in spec.get("choices", [])}:
            return self.error(path, _("Choose one of the options."))
        return value

    def clean_multichoice(self, spec, value, path, top):
        allowed = {c["value"] for c in spec.get("choices", [])}
        if not isinstance(value, list) or not all(isinstance(v, str) and v in allowed for v in value):
            return self.error(path, _("Choose among the options."))
        chosen = list(dict.fromkeys(value))
        low, high = spec.get("min_selected"), spec.get("max_selected")
        if low and len(chosen) < low:
            return self.error(path, _("Choose at least %(n)d.") % {"n": low})
        if high and len(chosen) > high:
            return self.error(path, _("Choose at most %(n)d.") % {"n": high})
        return chosen

    def clean_phone(self, spec, value, path, top):
        normalised = normalise_phone(value)
        if normalised is None:
            return self.error(path, _("Enter a valid Vietnamese phone number."))
        return normalised

    def clean_national_id(self, spec, value, path, top):
        digits = re.sub(r"[\s.\-]", "", value) if isinstance(value, str) else ""
        lengths = {"cccd": 12, "cmnd": 9}
        accepted = {lengths[kind] for kind in spec.get("accept") or lengths}
        if not digits.isdigit() or len(digits) not in accepted:
            return self.error(path, _("Enter a 12-digit citizen ID or a 9-digit ID card number."))
        return digits

    def clean_person(self, spec, value, path, top):
        if not isinstance(value, dict):
            return self.error(path, _("Enter the person's details."))
        person_fields = person_schema(spec)
        return self.clean_group(person_fields, value, top, prefix=f"{path}.")

    def clean_area(self, spec, value, path, top):
        if not isinstance(value, str) or len(value) > 32:
            return self.error(path, _("Choose an area."))
        self.refs.areas.setdefault(value, []).append((path, spec))
        return value

    def clean_place(self, spec, value, path, top):
        if not isinstance(value, str) or len(value) > 20:
            return self.error(path, _("Choose a place."))
        self.refs.places.setdefault(value.upper(), []).append((path, spec))
        return value.upper()

    def clean_geopoint(self, spec, value, path, top):
        try:
            lat, lng = float(value["lat"]), float(value["lng"])
            accuracy = value.get("accuracy")
            accuracy = None if accuracy is None else float(accuracy)
        except (TypeError, KeyError, ValueError):
            return self.error(path, _("Enter a location."))
        if not (-90 <= lat <= 90 and -180 <= lng <= 180) or (accuracy is not None and accuracy < 0):
            return self.error(path, _("Enter a location."))
        point = {"lat": round(lat, 6), "lng": round(lng, 6)}
        return {**point, "accuracy": round(accuracy, 1)} if accuracy is not None else point

    def clean_file(self, spec, value, path, top):
        try:
            upload = str(uuid.UUID(str(value["upload"])))
        except (TypeError, KeyError, ValueError, AttributeError):
            return self.error(path, _("Attach the file again."))
        self.refs.uploads.setdefault(upload, []).append((path, spec))
        return {"upload": upload}

    def clean_repeat(self, spec, value, path, top):
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            return self.error(path, _("The list of items is not valid."))
        low, high = spec.get("min_items") or 0, spec.get("max_items") or 50
        if len(value) < low:
            message = ngettext("Add at least %(n)d item.", "Add at least %(n)d items.", low)
            return self.error(path, message % {"n": low})
        if len(value) > high:
            message = ngettext("Add at most %(n)d item.", "Add at most %(n)d items.", high)
            return self.error(path, message % {"n": high})
        sub_fields = spec.get("fields", [])
        return [
            self.clean_group(sub_fields, item, top, prefix=f"{path}.{i}.") for i, item in enumerate(value)
        ]

    # --- references -------------------------------------------------------------------------

    def check_uploads(self, found: dict) -> None:
        for upload_id, uses in self.refs.uploads.items():
            upload = found.get(upload_id)
            for path, spec in uses:
                if upload is None:
                    self.error(path, _("Attach the file again."))
                elif spec.get("accept") and upload.content_type not in spec["accept"]:
                    self.error(path, _("This kind of file is not accepted here."))
                elif upload.size > (spec.get("max_size_mb") or 5) * 1024 * 1024:
                    self.error(
                        path, _("The file is larger than %(mb)d MB.") % {"mb": spec.get("max_size_mb") or 5}
                    )

    def resolve_areas(self, found: dict[str, Area]) -> dict[str, Area]:
        resolved = {}
        for code, uses in self.refs.areas.items():
            for path, spec in uses:
                area = found.get(code)
                problem = self.area_problem(area, spec)
                if problem:
                    self.error(path, problem)
                else:
                    resolved[path] = area
        return resolved

    def area_problem(self, area: Area | None, spec: dict) -> str | None:
        if area is None or not self.form_area.contains(area):
            return _("Choose an area inside %(area)s.") % {"area": self.form_area.name}
        if self.scope_area is not None and not self.scope_area.contains(area):
            return _("This area is outside the area you work in.")
        depth = spec.get("depth") or 0
        if (depth and area.depth < depth and area.numchild) or (not depth and area.numchild):
            return _("Choose down to the lowest level.")
        return None

    def resolve_places(self, found: dict[str, Place]) -> dict[str, Place]:
        resolved = {}
        for code, uses in self.refs.places.items():
            for path, spec in uses:
                place = found.get(code)
                kinds = spec.get("kinds") or []
                if place is None or not place.is_active or not self.form_area.contains(place.area):
                    self.error(path, _("Choose one of the listed places."))
                elif kinds and place.kind not in kinds:
                    self.error(path, _("This place is not of the right kind."))
                else:
                    resolved[path] = place
        return resolved


def person_schema(spec: dict) -> list[dict]:
    """The fixed sub-fields of a person field, as schema entries the validator can check."""
    birth = spec.get("birth") or "either"
    this_year = timezone.localdate().year
    fields = [
        {
            "key": "full_name",
            "type": "text",
            "required": True,
            "validation": {"min_length": 2, "max_length": 100},
        },
        {
            "key": "sex",
            "type": "choice",
            "choices": [{"value": value, "label": label} for value, label in PERSON_SEXES.items()],
        },
        {"key": "national_id", "type": "national_id", "required": bool(spec.get("require_national_id"))},
        {"key": "phone", "type": "phone", "required": bool(spec.get("require_phone"))},
        {"key": "home_area", "type": "area", "depth": 0},
        {"key": "address", "type": "text", "validation": {"max_length": 300}},
    ]
    if birth in ("date", "either"):
        fields.append(
            {"key": "birth_date", "type": "date", "allow_future": False, "required": birth == "date"}
        )
    if birth in ("year", "either"):
        fields.append(
            {
                "key": "birth_year",
                "type": "number",
                "min": 1900,
                "max": this_year,
                "required": birth == "year",
            }
        )
    return [{**field, "label": PERSON_LABELS[field["key"]]} for field in fields]


def normalise_phone(value) -> str | None:
    """A Vietnamese (or international) number in E.164, or None when it is not a number."""
    if not isinstance(value, str) or len(value) > 30:
        return None
    try:
        number = phonenumbers.parse(value, "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def safe_fullmatch(pattern: str, text: str) -> bool:
    """An admin's pattern; a broken one matches nothing rather than failing the request."""
    try:
        return re.fullmatch(pattern, text) is not None
    except re.error:
        return False


def compare(actual, op: str, expected) -> bool:
    """One show_if condition, as docs/forms.md defines it (the phone page does the same)."""
    if op == "set":
        return not is_empty(actual)
    if is_empty(actual):
        return op == "ne" and not is_empty(expected)
    if isinstance(actual, list):
        contains = any(same(item, expected) for item in actual)
        if op in ("eq", "ne"):
            return contains if op == "eq" else not contains
        return op == "in" and isinstance(expected, list) and any(same(i, o) for i in actual for o in expected)
    if op == "eq":
        return same(actual, expected)
    if op == "ne":
        return not same(actual, expected)
    if op == "in":
        return isinstance(expected, list) and any(same(actual, item) for item in expected)
    if op in ("gt", "lt"):
        return _ordered(actual, expected, op)
    return False


def same(actual, expected) -> bool:
    """Equality where a choice stored as text ("2") equals a condition typed as a number (2).

    Booleans equal only booleans; the phone page's pyEq() in form.js does the same.
    """
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    if (
        actual is None
        or expected is None
        or isinstance(actual, dict | list)
        or isinstance(expected, dict | list)
    ):
        return actual == expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return actual == expected
    return str(actual) == str(expected)


def _ordered(actual, expected, op) -> bool:
    try:
        left, right = float(actual), float(expected)
    except (TypeError, ValueError):
        left, right = str(actual), str(expected)
    return left > right if op == "gt" else left < right
