"""Exports of admin listings (CSV, XLSX, JSON): scoped, logged, defused, streamed.

Every Wagtail listing already has ``?export=csv|xlsx`` (``SpreadsheetExportMixin``) over the
rows it shows, filters and search applied. ``ListingExportMixin`` changes what goes out:

- personal columns (a person's name, citizen ID, phone, birth date, address) only for users
  allowed to see persons; others get the same listing without them;
- cells a spreadsheet would run as a formula are neutralised (resources.FORMULA_STARTS);
- CSV is streamed, its rows read in chunks, so a listing of 100,000 rows never sits in memory;
- XLSX and JSON, which are built whole, are refused above ``EXPORT_SYNC_MAX_ROWS`` rows with a
  message suggesting CSV;
- each export is logged (who, which listing, how many rows, which format, which filters), in
  Wagtail's history and in the access log (audit/).
"""

import csv
import json
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from itertools import islice

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.functional import cached_property
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.admin.widgets import Button
from wagtail.coreutils import multigetattr
from wagtail.log_actions import LogFormatter, log

from audit.services import access_record, export_detail

from .export_builds import build_of, export_build_start
from .resources import FORMULA_STARTS

PERSONS_PERMISSION = "tracing.view_person"
# A column is personal when the last part of its dotted name is one of these.
PERSONAL_FIELDS = frozenset({"full_name", "national_id", "phone", "birth_date", "address"})
CHUNK_ROWS = 2000
FORMAT_CSV, FORMAT_XLSX, FORMAT_JSON = "csv", "xlsx", "json"
FORMATS = (FORMAT_CSV, FORMAT_XLSX, FORMAT_JSON)
LOG_ACTION = "forms_engine.listing_export"


@hooks.register("register_log_actions")
def register_listing_export_action(actions):
    @actions.register_action(LOG_ACTION)
    class ListingExportFormatter(LogFormatter):
        label = gettext_lazy("Export a listing")

        def format_message(self, log_entry):
            data = log_entry.data or {}
            return _("Exported %(rows)s rows of %(listing)s as %(format)s") % {
                "rows": data.get("rows", "?"),
                "listing": data.get("listing", ""),
                "format": str(data.get("format", "")).upper(),
            }


def export_max_rows() -> int:
    return int(getattr(settings, "EXPORT_SYNC_MAX_ROWS", 20000))


def neutralise(value):
    """A text a spreadsheet would read as a formula (=, +, -, @, tab, CR) gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def may_see_personal(user) -> bool:
    return user.has_perm(PERSONS_PERMISSION)


def is_personal(column: str, personal_columns: Iterable[str] = (), names=PERSONAL_FIELDS) -> bool:
    return column in personal_columns or column.rsplit(".", 1)[-1] in names


def columns_for(user, columns: Iterable[str], personal_columns: Iterable[str] = (), names=PERSONAL_FIELDS):
    """``columns`` the user may export: without the personal ones unless they may see persons."""
    if may_see_personal(user):
        return list(columns)
    return [column for column in columns if not is_personal(column, personal_columns, names)]


PERSONAL_TYPES = frozenset({"phone", "national_id"})


def personal_paths(schema: list[dict]) -> set[str]:
    """The data paths of a form version that hold personal data: a person's identifying
    parts, phone and citizen-ID fields, and repeat groups that contain any of those."""
    paths = set()
    for spec in schema:
        key, kind = spec.get("key"), spec.get("type")
        if not key:
            continue
        if kind == "person":
            paths |= {f"{key}.{part}" for part in PERSONAL_FIELDS}
        elif _holds_personal(spec):
            paths.add(key)
    return paths


def _holds_personal(spec: dict) -> bool:
    if spec.get("type") == "repeat":
        return bool(personal_paths(spec.get("fields") or []))
    return spec.get("type") in PERSONAL_TYPES or spec.get("key") in PERSONAL_FIELDS


def data_without_personal(data, schema: list[dict]):
    """A submission's data with the personal values (``personal_paths``) left out."""
    if not isinstance(data, dict):
        return data
    kept = dict(data)
    for path in personal_paths(schema):
        key, _dot, part = path.partition(".")
        if not part:
            kept.pop(key, None)
        elif isinstance(kept.get(key), dict):
            kept[key] = {name: value for name, value in kept[key].items() if name != part}
    return kept


def export_log(*, user, instance, listing: str, fmt: str, rows: int, query: str = "") -> None:
    """One entry in Wagtail's history (Reports › Site history) for each export.

    A listing is no single object: the entry hangs on the exporting user, and names the listing.
    """
    log(
        instance=instance,
        action=LOG_ACTION,
        user=user,
        data={"listing": listing, "format": fmt, "rows": rows, "query": query[:500]},
    )


def unwrapped(user):
    """The user model instance behind ``request.user``, which django-otp wraps in a lazy object
    that Wagtail's log registry does not recognise as a user (the entry would be dropped)."""
    user.pk  # noqa: B018 - evaluates the lazy object
    return getattr(user, "_wrapped", user)


def plain(value):
    """A value as CSV or JSON carries it: text for objects, ISO for dates, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return force_str(value)


def _json_value(value):
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return force_str(value)


class _Echo:
    """The write end csv.writer needs, giving each line back instead of storing it."""

    def write(self, value):
        return value


def csv_lines(headings: list[str], rows: Iterator[list]) -> Iterator[str]:
    """A CSV file line by line: a BOM (Excel then reads Vietnamese letters right), the
    headings, the rows, every cell neutralised."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(headings)
    for row in rows:
        yield writer.writerow([neutralise(plain(value)) for value in row])


def streamed(request, lines: Iterator[str]):
    """Under ASGI Django would read a plain iterator whole before sending the first byte: give
    it an asynchronous one that pulls batches of lines in the request's worker thread."""
    if isinstance(request, ASGIRequest):
        return _async_batches(lines)
    return lines


async def _async_batches(lines: Iterator[str], size: int = 500):
    take = sync_to_async(lambda: "".join(islice(lines, size)), thread_sensitive=True)
    while chunk := await take():
        yield chunk


def csv_response(request, headings: list[str], rows: Iterator[list], *, filename: str):
    return StreamingHttpResponse(
        streamed(request, csv_lines(headings, rows)),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition_header(True, f"{filename}.csv")},
    )


def json_lines(columns: list[str], rows: Iterator[list]) -> Iterator[str]:
    """A JSON list of objects keyed by column name, one object a line; values kept as they
    are (data, not cells)."""
    separator = "[\n"
    for row in rows:
        yield separator + json.dumps(
            dict(zip(columns, row, strict=True)), ensure_ascii=False, default=_json_value
        )
        separator = ",\n"
    yield "[]\n" if separator == "[\n" else "\n]\n"


def json_response(request, columns: list[str], rows: Iterator[list], *, filename: str):
    return StreamingHttpResponse(
        streamed(request, json_lines(columns, rows)),
        content_type="application/json; charset=utf-8",
        headers={"Content-Disposition": content_disposition_header(True, f"{filename}.json")},
    )


class ListingExportMixin:
    """For a Wagtail IndexView with ``list_export``: see the module's docstring.

    ``export_personal_columns`` names further columns that hold personal data under another
    name (a person's ``__str__``); ``export_personal_names`` are the field names that make a
    column personal (a listing of places, whose addresses are public, empties it).
    """

    FORMATS = FORMATS
    export_personal_columns = ()
    export_personal_names = PERSONAL_FIELDS

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("export")
        if fmt in self.FORMATS and self.list_export:
            return self.export_response(self.get_queryset(), fmt)
        return super().get(request, *args, **kwargs)

    def export_columns(self) -> list[str]:
        user = self.request.user
        return columns_for(user, self.list_export, self.export_personal_columns, self.export_personal_names)

    def export_item(self, item):
        """The object a row is read from; a subclass may blank what the user may not see."""
        return item

    def export_rows(self, queryset, columns: list[str]) -> Iterator[list]:
        for item in queryset.iterator(chunk_size=CHUNK_ROWS):
            item = self.export_item(item)
            yield [multigetattr(item, column) for column in columns]

    def export_response(self, queryset, fmt: str):
        count = queryset.count()
        columns = self.export_columns()
        filename = f"{self.get_filename()}-{timezone.localdate().isoformat()}"
        listing = str(self.model._meta.verbose_name_plural)
        if build := build_of(self.request):  # the background build of a large spreadsheet
            self.list_export = columns
            return self.write_xlsx_build(build, queryset)
        self.export_record(fmt, count, listing)
        if fmt == FORMAT_XLSX and count > export_max_rows():
            return export_build_start(self.request, rows=count, filename=filename, listing=listing)
        headings = [self.get_heading(queryset, column) for column in columns]
        rows = self.export_rows(queryset, columns)
        if fmt == FORMAT_CSV:
            return csv_response(self.request, headings, rows, filename=filename)
        if fmt == FORMAT_JSON:
            return json_response(self.request, columns, rows, filename=filename)
        self.list_export = columns  # Wagtail's writer reads the columns from here
        return self.write_xlsx_response(queryset)

    def export_record(self, fmt: str, count: int, listing: str) -> None:
        """The export in Wagtail's history and the access log, once, when it is asked for."""
        query = self.request.GET.urlencode()
        user = unwrapped(self.request.user)
        export_log(user=user, instance=user, listing=listing, fmt=fmt, rows=count, query=query)
        access_record(
            request=self.request,
            action="export",
            kind=f"export:{self.model._meta.label_lower}",
            outcome="exported",
            detail=export_detail(rows=count, fmt=fmt, query=query),
        )

    def write_xlsx_build(self, build, queryset) -> HttpResponse:
        with tempfile.TemporaryFile() as temporary:
            self.write_xlsx(build.counted(self.export_items(queryset)), temporary)
            build.save(temporary)
        return HttpResponse(status=204)

    def export_items(self, queryset) -> Iterator:
        return (self.export_item(item) for item in queryset.iterator(chunk_size=CHUNK_ROWS))

    def preprocess_field_value(self, field, value, export_format):
        return neutralise(super().preprocess_field_value(field, value, export_format))

    def write_xlsx(self, queryset, output):
        # Wagtail's writer iterates the queryset itself: let it read in chunks too.
        items = self.export_items(queryset) if hasattr(queryset, "iterator") else queryset
        return super().write_xlsx(items, output)

    def get_heading(self, queryset, field):
        model_queryset = queryset if hasattr(queryset, "model") else self.model._default_manager.none()
        return super().get_heading(model_queryset, field)

    @property
    def json_export_url(self):
        return self.get_export_url(FORMAT_JSON)

    @cached_property
    def header_more_buttons(self):
        buttons = list(super().header_more_buttons)
        if self.show_export_buttons:
            buttons.append(
                Button(_("Download JSON"), url=self.json_export_url, icon_name="download", priority=110)
            )
        return buttons
