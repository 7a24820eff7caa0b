"""The person registry as a django-import-export resource, matched as tracing matches.

A row is matched to the registry by the rule of resolve.py (citizen ID; else phone, folded
name and birth year), else by folded name, birth year and home area, so that importing the
same file twice adds nobody. A match only gains what it lacked, as ``person_complete`` does:
an identifier already recorded is never overwritten. A new person with the same name and
birth year as another goes to the possible-duplicates queue. Everything stays inside the
importer's area: a person's home area must lie in it, and so must a matched person's.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy
from import_export import fields, widgets
from wagtail import hooks

from forms_engine.validation import normalise_phone
from places.folding import fold
from places.resources import NOT_YOURS, AreaCodeWidget, ScopedResource, scope_error

from .models import Person
from .resolve import duplicates_queue_many, identity_of, registry_matches

BAD_NATIONAL_ID = gettext_lazy("Enter a 12-digit citizen ID or a 9-digit ID card number.")
BAD_PHONE = gettext_lazy("Enter a valid Vietnamese phone number.")
BAD_NAME = gettext_lazy("Enter the full name (2 to 100 characters).")
BAD_SEX = gettext_lazy("Write the sex as Nam or Nữ.")
HOME_AREA_NEEDED = gettext_lazy("Enter the home area's code (inside the area you work in).")
SEXES = {"nam": "male", "male": "male", "nữ": "female", "nu": "female", "female": "female"}
DAY_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
KEPT_WHEN_RECORDED = ("national_id", "full_name", "phone", "birth_date", "birth_year", "sex", "address")


class PersonResource(ScopedResource):
    home_area = fields.Field(column_name="home_area", attribute="home_area", widget=AreaCodeWidget())
    birth_date = fields.Field(
        column_name="birth_date", attribute="birth_date", widget=widgets.DateWidget(format="%Y-%m-%d")
    )
    required_columns = ("full_name",)

    class Meta:
        model = Person
        fields = (
            "national_id",
            "full_name",
            "birth_date",
            "birth_year",
            "sex",
            "phone",
            "address",
            "home_area",
        )
        import_id_fields = ("full_name",)  # the match is get_instance's (the registry's rule)
        skip_unchanged = True
        report_skipped = True
        skip_html_diff = True
        store_row_values = True

    def before_import_row(self, row, **kwargs):
        """Cells as the registry keeps them: ID digits, E.164 phone, ISO date, sex code."""
        text = {k: str(v if v is not None else "").strip() for k, v in row.items()}
        if text.get("national_id"):
            row["national_id"] = re.sub(r"[\s.\-]", "", text["national_id"])
        if text.get("phone"):
            row["phone"] = normalise_phone(text["phone"]) or text["phone"]
        if match := DAY_FIRST.match(text.get("birth_date", "")):
            day, month, year = match.groups()
            row["birth_date"] = f"{year}-{int(month):02d}-{int(day):02d}"
        if text.get("sex"):
            row["sex"] = SEXES.get(text["sex"].lower(), text["sex"])

    def get_instance(self, instance_loader, row):
        details = match_details(row)
        identity = identity_of(details)
        if identity is not None:
            return registry_matches({identity}).get(identity)
        if not details["name_folded"] or not details["birth_year"]:
            return None
        same = Person.objects.filter(
            name_folded=details["name_folded"], birth_year=details["birth_year"], merged_into=None
        )
        home = str(row.get("home_area") or "").strip()
        return same.filter(home_area__code=home).first() if home else None

    def import_instance(self, instance, row, **kwargs):
        if instance.pk and scope_error(self.scope_area, instance.home_area):
            raise ValidationError({"national_id": NOT_YOURS})
        row_check(row)
        recorded = {name: getattr(instance, name) for name in KEPT_WHEN_RECORDED} if instance.pk else {}
        home_before = instance.home_area if instance.pk else None
        super().import_instance(instance, row, **kwargs)
        for name, value in recorded.items():
            if value:
                setattr(instance, name, value)
        instance.home_area = home_before or instance.home_area
        if self.scope_area is not None and instance.home_area is None:
            raise ValidationError({"home_area": HOME_AREA_NEEDED})
        if error := scope_error(self.scope_area, instance.home_area):
            raise ValidationError({"home_area": error})
        instance.name_folded = fold(instance.full_name)
        if instance.birth_date and not instance.birth_year:
            instance.birth_year = instance.birth_date.year
        instance._import_new = instance.pk is None

    def after_save_instance(self, instance, row, **kwargs):
        if getattr(instance, "_import_new", False):
            duplicates_queue_many([instance])


def match_details(row) -> dict:
    """The row as resolve.identity_of reads a person (normalised by before_import_row)."""
    name = str(row.get("full_name") or "").strip()
    year = str(row.get("birth_year") or "").strip()
    birth_date = str(row.get("birth_date") or "").strip()
    if not year and re.match(r"^\d{4}-", birth_date):
        year = birth_date[:4]
    return {
        "national_id": str(row.get("national_id") or "").strip(),
        "phone": str(row.get("phone") or "").strip(),
        "name_folded": fold(name),
        "birth_year": int(year) if year.isdigit() else None,
    }


def row_check(row) -> None:
    """The rules of a person field (forms_engine/validation.py) for the row's identifiers."""
    errors = {}
    name = str(row.get("full_name") or "").strip()
    if not 2 <= len(name) <= 100:
        errors["full_name"] = BAD_NAME
    national_id = str(row.get("national_id") or "")
    if national_id and (not national_id.isdigit() or len(national_id) not in (9, 12)):
        errors["national_id"] = BAD_NATIONAL_ID
    phone = str(row.get("phone") or "")
    if phone and not phone.startswith("+"):
        errors["phone"] = BAD_PHONE
    if str(row.get("sex") or "") not in ("", "male", "female"):
        errors["sex"] = BAD_SEX
    if errors:
        raise ValidationError(errors)


@hooks.register("register_importers")
def person_importers():
    """The registry's import kind, for forms_engine's import jobs (imports.IMPORTERS_HOOK)."""
    from forms_engine.imports import ResourceImporter

    return {"persons": lambda job: ResourceImporter(PersonResource(scope_area=job.scope_area))}
