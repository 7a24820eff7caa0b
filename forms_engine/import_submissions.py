"""Importing a form's submissions from a table: the web's rules, at bulk speed.

A row is one submission: its columns are the form's field keys (a person's parts as
``person.full_name``…), as the export writes them; the export's own columns (id, version,
status…) are accepted and ignored, except ``client_id``. Each row is checked by the form
version's SubmissionValidator inside the importer's area, and becomes a Submission with
source ``import`` made by the same ``submission_prepare`` as the web's. A batch of rows is
checked together: the areas and places it names in one query each (and remembered for the
next batches), the client_ids already stored in one. Forms without a workflow are stored
with one INSERT for the submissions and one for their outbox events (the companions the web
path inserts with each submission), so tracing resolves their persons and counts them in
batches, as for the web's; a form with a workflow goes through ``submission_create`` row by
row, which starts it.

A row without a client_id gets one derived from the form and its cleaned values (uuid5):
importing the same file again finds every row already stored and changes nothing.
"""

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from places.models import Area, Place
from places.selectors import user_area

from .models import FormPage, FormVersion, Submission
from .resources import FIXED_COLUMNS, FORMULA_STARTS, data_columns
from .services import (
    data_fingerprint,
    derive_area_and_place,
    submission_after_commit,
    submission_companions,
    submission_create,
    submission_prepare,
)
from .validation import Found, SubmissionValidator, normalise_phone, person_schema

PREVIEW_ROWS = 10
IMPORT_NAMESPACE = uuid.UUID("9a7c1f3e-2b1d-4c55-8e0f-0d6a3b1e5f21")  # never change: keys re-imports
OUTSIDE_SCOPE = gettext_lazy("This row's area (%(area)s) is outside the area you work in.")
NO_AREA = gettext_lazy("This row names no area inside the area you work in.")
CLIENT_ID_REUSED = gettext_lazy("This client_id was already used for other data.")
BAD_CLIENT_ID = gettext_lazy("Send a client_id in UUID form.")
SAME_ROW_TWICE = gettext_lazy("The same row appears earlier in the file.")
TRUE_WORDS = {"true", "1", "yes", "y", "x", "có", "co", "đúng", "dung"}
FALSE_WORDS = {"false", "0", "no", "n", "không", "khong", "sai"}
DAY_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T](\d{1,2}):(\d{2}))?$")
STRUCTURED_TYPES = {"geopoint", "file", "repeat", "person"}
VN_NUMBER = re.compile(r"(?:\+84|0)([1-9]\d{8,9})")


class ImportValidator(SubmissionValidator):
    """The form's validator with what a hundred thousand rows would pay for again and again
    worked out once: a person field's sub-fields, and which phone number prefixes are valid."""

    today: date = date.min  # the importer's, set once a job
    person_fields: dict[int, tuple[dict, list[dict]]] = {}  # id(spec) -> (spec, its sub-fields)
    phone_prefixes: dict[tuple[str, int], bool] = {}

    def clean_person(self, spec, value, path, top):
        if not isinstance(value, dict):
            return super().clean_person(spec, value, path, top)
        cached = self.person_fields.get(id(spec))
        if cached is None or cached[0] is not spec:  # an id is reused once its spec is gone
            cached = self.person_fields[id(spec)] = (spec, person_schema(spec))
        return self.clean_group(cached[1], value, top, prefix=f"{path}.")

    def clean_date(self, spec, value, path, top):
        """As the web's, with "today" read once a job rather than once a date."""
        if spec.get("allow_future", True) or not isinstance(value, str) or len(value) != 10:
            return super().clean_date(spec, value, path, top)
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            return super().clean_date(spec, value, path, top)
        if parsed > self.today:
            return self.error(path, _("The date cannot be in the future."))
        return parsed.isoformat()

    def clean_phone(self, spec, value, path, top):
        """normalise_phone's answer without parsing each number: a Vietnamese number's validity
        depends only on its first digits and its length (the numbering plan's patterns), so
        phonenumbers judges each (prefix, length) once; anything unusual is parsed as before."""
        match = VN_NUMBER.fullmatch(re.sub(r"[\s.\-()]", "", value)) if isinstance(value, str) else None
        if match is None:
            return super().clean_phone(spec, value, path, top)
        national = match.group(1)
        key = (national[:4], len(national))
        if key not in self.phone_prefixes:
            self.phone_prefixes[key] = normalise_phone("0" + national) is not None
        if not self.phone_prefixes[key]:
            return self.error(path, _("Enter a valid Vietnamese phone number."))
        return "+84" + national


class SubmissionMaker:
    """``services.submission_prepare`` for row after row, at a fraction of its cost.

    The first row is made by submission_prepare itself; the others copy its values and change
    only what differs from row to row, worked out by the same functions (the area and place
    from the fields' roles, the data's fingerprint), through Django's positional constructor:
    a hundred thousand keyword constructions, with their related-object checks, cost more than
    all the validation. tests/forms_engine/test_imports.py checks that both give the same row.
    """

    def __init__(self, *, form: FormPage, version: FormVersion, user):
        self.form, self.version, self.user = form, version, user
        self.attnames = [f.attname for f in Submission._meta.concrete_fields]
        self.template: dict | None = None

    def make(self, *, body: dict, result) -> Submission:
        if self.template is None:
            submission = submission_prepare(
                form=self.form, version=self.version, body=body, result=result, qr_place=None, user=self.user
            )
            self.template = {name: getattr(submission, name) for name in self.attnames}
            return submission
        area, place = derive_area_and_place(
            version=self.version, result=result, qr_place=None, fallback_area=user_area(user=self.user)
        )
        values = {
            **self.template,
            "client_id": body["client_id"],
            "data": result.cleaned,
            "data_hash": data_fingerprint(body["data"]),
            "area_id": area.pk if area else None,
            "place_id": place.pk if place else None,
            "created_at": timezone.now(),
        }
        submission = Submission(*(values[name] for name in self.attnames))
        cache = submission._state.fields_cache  # the related rows, known: no query to read them
        cache.update(form=self.form, version=self.version, area=area, place=place, submitted_by=self.user)
        return submission


@dataclass
class RowOutcome:
    """What became of one row: ``new``, ``updated``, ``skipped`` or ``failed``."""

    number: int
    outcome: str
    errors: list[tuple[str, str]] = field(default_factory=list)
    landed: dict | None = None  # the row as it lands, for the preview


@dataclass
class Pending:
    number: int
    row: dict
    data: dict
    client_id: uuid.UUID | None
    validator: SubmissionValidator


class SubmissionImporter:
    """Rows of one form's table, checked and stored in batches (see the module's docstring)."""

    def __init__(self, *, form: FormPage, version: FormVersion, user, scope_area: Area | None):
        self.form, self.version, self.user, self.scope_area = form, version, user, scope_area
        self.specs = {spec["key"]: spec for spec in version.schema if spec.get("key")}
        self.person_parts = {
            key: {part["key"]: part for part in person_schema(spec)}
            for key, spec in self.specs.items()
            if spec["type"] == "person"
        }
        self.columns = data_columns(version.schema)
        self.labels = dict(self.columns)
        self.found = Found()  # areas and places looked up so far, by code (None: no such code)
        self.seen: set[uuid.UUID] = set()  # client_ids of earlier rows of this file
        self.maker = SubmissionMaker(form=form, version=version, user=user)
        self.today = timezone.localdate()
        self.previews_left = PREVIEW_ROWS  # rows shown as they land: the first ones only

    # --- columns ---------------------------------------------------------------------------

    def allowed_columns(self) -> set[str]:
        return {path for path, _label in self.columns} | set(self.specs) | {c for c, _l in FIXED_COLUMNS}

    def required_columns(self) -> set[str]:
        """Columns of the fields every row must fill (a field shown on a condition may be absent)."""
        required = set()
        for key, spec in self.specs.items():
            if not spec.get("required") or spec.get("show_if"):
                continue
            if spec["type"] == "person":
                parts = self.person_parts[key].items()
                required |= {f"{key}.{name}" for name, part in parts if part.get("required")}
            else:
                required.add(key)
        return required

    def header_covers(self, header: list[str], column: str) -> bool:
        """A person's part may come as its own column or inside the person's JSON column."""
        return column in header or ("." in column and column.split(".", 1)[0] in header)

    # --- one batch -------------------------------------------------------------------------

    def batch(self, rows: list[tuple[int, dict]], *, write: bool) -> list[RowOutcome]:
        outcomes, pending = [], []
        for number, row in rows:
            try:
                data, client_id = self.row_data(row)
            except ValueError as error:
                outcomes.append(RowOutcome(number, "failed", [("client_id", str(error))]))
                continue
            validator = ImportValidator(
                self.version.schema, form_area=self.form.area, scope_area=self.scope_area
            )
            validator.today = self.today
            validator.check(data)
            pending.append(Pending(number, row, data, client_id, validator))
        self.references_fetch(pending)
        prepared = [(p, self.prepare(p)) for p in pending]
        existing = self.stored_data([s.client_id for _p, s in prepared if isinstance(s, Submission)])
        new = []
        for p, submission in prepared:
            outcome = self.judge(p, submission, existing)
            outcomes.append(outcome)
            if outcome.outcome == "new":
                new.append(submission)
        if write and new:
            self.store(new)
        return sorted(outcomes, key=lambda o: o.number)

    def prepare(self, pending: Pending) -> Submission | list[tuple[str, str]]:
        """The row's unsaved submission, or its errors."""
        result = pending.validator.conclude(self.found)
        if result.errors:
            return [(path, message) for path, messages in result.errors.items() for message in messages]
        body = {"client_id": pending.client_id, "data": result.cleaned, "source": Submission.SOURCE_IMPORT}
        submission = self.maker.make(body=body, result=result)
        if pending.client_id is None:  # keyed by content: the data's fingerprint, made once
            submission.client_id = uuid.uuid5(IMPORT_NAMESPACE, f"{self.form.pk}:{submission.data_hash}")
        problem = self.scope_problem(submission)
        return [("area", problem)] if problem else submission

    def judge(self, pending: Pending, submission, existing: dict) -> RowOutcome:
        if not isinstance(submission, Submission):
            return RowOutcome(pending.number, "failed", submission)
        stored = existing.get(submission.client_id)
        if submission.client_id in self.seen and stored is None:
            return RowOutcome(pending.number, "skipped", [("", str(SAME_ROW_TWICE))])
        self.seen.add(submission.client_id)
        landed = self.landed(submission) if self.previews_left > 0 else None
        self.previews_left -= 1
        if stored is None:
            return RowOutcome(pending.number, "new", landed=landed)
        if stored == submission.data:
            return RowOutcome(pending.number, "skipped", landed=landed)
        return RowOutcome(pending.number, "failed", [("client_id", str(CLIENT_ID_REUSED))])

    def scope_problem(self, submission: Submission) -> str | None:
        scope = self.scope_area
        if scope is None:
            return None
        if submission.area is None:
            return str(NO_AREA)
        for area in (submission.area, submission.place.area if submission.place else None):
            if area is not None and not scope.contains(area):
                return str(OUTSIDE_SCOPE % {"area": area.name})
        return None

    def landed(self, submission: Submission) -> dict:
        from .resources import cell, lookup

        return {
            "area": submission.area.name if submission.area else "",
            "place": submission.place.name if submission.place else "",
            "values": {path: cell(lookup(submission.data, path)) for path, _label in self.columns},
        }

    # --- lookups, in one query each a batch ------------------------------------------------

    def references_fetch(self, pending: list[Pending]) -> None:
        """Areas and places the batch names and no earlier batch did: one query each."""
        area_codes = {code for p in pending for code in p.validator.refs.areas} - set(self.found.areas)
        place_codes = {code for p in pending for code in p.validator.refs.places} - set(self.found.places)
        if area_codes:
            found = Area.objects.in_bulk(list(area_codes), field_name="code")
            self.found.areas.update({code: found.get(code) for code in area_codes})
        if place_codes:
            found = Place.objects.select_related("area").in_bulk(list(place_codes), field_name="code")
            self.found.places.update({code: found.get(code) for code in place_codes})
        if any(p.validator.refs.uploads for p in pending):
            self.found.uploads = {}  # an import carries no files: an upload id names nothing

    def stored_data(self, client_ids: list) -> dict:
        if not client_ids:
            return {}
        rows = Submission.objects.filter(form=self.form, client_id__in=client_ids)
        return dict(rows.values_list("client_id", "data"))

    # --- writing ---------------------------------------------------------------------------

    def store(self, submissions: list[Submission]) -> None:
        """The batch's new submissions and their events, as the web path stores them."""
        with transaction.atomic():
            if self.form.submission_workflow_id and submissions[0].get_workflow() is not None:
                for submission in submissions:
                    submission_create(submission)  # starts the workflow: in review
                return
            companions: dict[type, list] = {}
            for submission in submissions:
                for row in submission_companions(submission):
                    companions.setdefault(type(row), []).append(row)
            rows_insert(Submission, submissions)
            for model, rows in companions.items():
                rows_insert(model, rows)
            transaction.on_commit(submission_after_commit)

    # --- cells to values -------------------------------------------------------------------

    def row_data(self, row: dict) -> tuple[dict, uuid.UUID | None]:
        """The row's values as the API's ``data`` would carry them, and its client_id if any."""
        data = {}
        for column, text in row.items():
            key, _dot, part = column.partition(".")
            if key in self.person_parts and part in self.person_parts[key]:
                value = cell_value(self.person_parts[key][part], text)
                if value is not None:
                    data.setdefault(key, {})[part] = value
            elif column in self.specs:
                value = cell_value(self.specs[column], text)
                if value is not None:
                    data[column] = {**value, **data.get(column, {})} if isinstance(value, dict) else value
        return data, client_id_of(row.get("client_id"))


def rows_insert(model, instances: list) -> None:
    """Insert ``instances`` at once: COPY on PostgreSQL (a tenth of a multi-row INSERT's cost:
    psycopg escapes an INSERT's arrays in Python, COPY's rows in C). The client_ids were
    checked a moment ago; should another import have stored one meanwhile, the COPY fails
    whole and an INSERT that skips the rows already there does the work instead."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create(instances, ignore_conflicts=True)
        return
    try:
        with transaction.atomic():
            copy_rows(model, instances)
    except IntegrityError:
        model.objects.bulk_create(instances, ignore_conflicts=True)


def copy_rows(model, instances: list) -> None:
    from psycopg import sql

    from .ingest import inserted_fields

    fields = inserted_fields(model)
    statement = sql.SQL("COPY {table} ({columns}) FROM STDIN").format(
        table=sql.Identifier(model._meta.db_table),
        columns=sql.SQL(", ").join(sql.Identifier(f.column) for f in fields),
    )
    row_of = copy_row_maker(fields)
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for instance in instances:
            copy.write_row(row_of(instance))


def copy_row_maker(fields: list):
    """fn(instance) -> its row's values for COPY. Most values go as they are (psycopg knows
    text, numbers, UUIDs, times); only the fields that adapt their values (JSON) or fill
    them at save (auto_now) go through Django's own preparation, as in ingest.insert_values."""
    prepared = {
        f.attname
        for f in fields
        if f.get_internal_type() == "JSONField"
        or getattr(f, "auto_now", False)
        or getattr(f, "auto_now_add", False)
    }

    def row_of(instance):
        values = instance.__dict__
        return [
            f.get_db_prep_save(f.pre_save(instance, add=True), connection)
            if f.attname in prepared
            else values[f.attname]
            for f in fields
        ]

    return row_of


def client_id_of(text) -> uuid.UUID | None:
    if text in (None, ""):
        return None
    try:
        return uuid.UUID(str(text).strip())
    except ValueError:
        raise ValueError(BAD_CLIENT_ID) from None


def cell_value(spec: dict, text):
    """One cell as the value the phone would send for ``spec``; None when empty.

    Lenient where people type differently (a date as 31/08/2021, yes as "có", a choice by its
    label); anything else is passed on as typed, for the validator to refuse with its message.
    """
    if not isinstance(text, str):
        return text  # JSON files carry structured values as they are
    text = unneutralise(text.strip())
    if text == "":
        return None
    kind = spec["type"]
    if kind in STRUCTURED_TYPES or (kind == "multichoice" and text.startswith("[")):
        try:
            return json.loads(text)
        except ValueError:
            return text
    converter = CONVERTERS.get(kind)
    return converter(spec, text) if converter else text


def unneutralise(text: str) -> str:
    """The export writes '=… for a cell a spreadsheet would run: read it back as typed."""
    return text[1:] if text.startswith("'") and text[1:2] in FORMULA_STARTS and len(text) > 1 else text


def boolean_value(spec, text):
    word = text.lower()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else text


def choice_value(spec, text):
    values, by_label = choices_of(spec)
    return text if text in values else by_label.get(text.lower(), text)


_choices: dict[int, tuple[dict, set, dict]] = {}  # id(spec) -> (spec, values, values by label)


def choices_of(spec: dict) -> tuple[set, dict]:
    """A choice field's values, and its values by lower-cased label; worked out once a spec."""
    cached = _choices.get(id(spec))
    if cached is None or cached[0] is not spec:
        choices = spec.get("choices", [])
        cached = _choices[id(spec)] = (
            spec,
            {c["value"] for c in choices},
            {str(c["label"]).strip().lower(): c["value"] for c in choices},
        )
    return cached[1], cached[2]


def multichoice_value(spec, text):
    return [choice_value(spec, part.strip()) for part in re.split(r"[;,]", text) if part.strip()]


def date_value(spec, text):
    match = DAY_FIRST.match(text)
    if match and not match.group(4):
        day, month, year = match.group(1, 2, 3)
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return text


def datetime_value(spec, text):
    match = DAY_FIRST.match(text)
    if match and match.group(4):
        day, month, year, hour, minute = match.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}T{int(hour):02d}:{minute}"
    return text


def national_id_value(spec, text):
    """A spreadsheet drops the leading zero of an ID typed as a number: put it back."""
    digits = text.replace(" ", "")
    return digits.zfill(len(digits) + 1) if digits.isdigit() and len(digits) in (8, 11) else text


CONVERTERS = {
    "boolean": boolean_value,
    "choice": choice_value,
    "multichoice": multichoice_value,
    "date": date_value,
    "datetime": datetime_value,
    "national_id": national_id_value,
}


def header_problems(importer, header: list[str]) -> list[str]:
    """Messages for a header with unknown columns or without a required one."""
    problems = []
    unknown = [c for c in header if c and c not in importer.allowed_columns()]
    missing = sorted(c for c in importer.required_columns() if not importer.header_covers(header, c))
    if missing:
        problems.append(_("Columns missing: %(columns)s.") % {"columns": ", ".join(missing)})
    if unknown:
        problems.append(_("Unknown columns: %(columns)s.") % {"columns": ", ".join(unknown)})
    return problems
