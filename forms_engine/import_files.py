"""Reading an uploaded table (CSV, XLSX, JSON) row by row, and writing its row errors as CSV.

A file of a hundred thousand rows is never held in memory: CSV is read line by line with the
csv module, XLSX with openpyxl's read-only mode (rows streamed from the zip). JSON is one
document, parsed whole, so its size cap is what bounds it. Before anything is stored the
first bytes are sniffed: a file that is neither a zip (XLSX), JSON nor UTF-8 text is refused
with a message the person uploading can act on.
"""

import codecs
import csv
import io
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.core.files.base import File
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .resources import cell

SNIFF_BYTES = 64 * 1024
CSV_DELIMITERS = ",;\t"
CONTROL_CHARACTERS = {chr(c) for c in range(32)} - {"\t", "\n", "\r"}

NOT_UTF8 = gettext_lazy(
    "The file is not UTF-8 text (tệp không phải UTF-8): in Excel choose Save as › “CSV UTF-8”, "
    "then upload it again."
)
NOT_A_TABLE = gettext_lazy("The file is not a CSV, XLSX or JSON table.")
JSON_SHAPE = gettext_lazy("A JSON file must be a list of objects, one per row.")
NO_HEADER = gettext_lazy("The file has no header row.")
NO_ROWS = gettext_lazy("The file has no rows to import.")


class FileRefused(Exception):
    """The file cannot be read as a table; the message says why, for the person uploading."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


def sniff_format(head: bytes) -> str:
    """ "xlsx", "json" or "csv" from the first bytes of a file; FileRefused for anything else."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRefused(NOT_UTF8)  # Excel's "Unicode text"
    if b"\x00" in head:
        raise FileRefused(NOT_A_TABLE)  # binary: an image, a .xls, a PDF…
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(head, final=False)  # a letter cut at the end of the sample is fine
    except UnicodeDecodeError as error:
        raise FileRefused(NOT_UTF8) from error
    if sum(ch in CONTROL_CHARACTERS for ch in text[:4096]) > 2:
        raise FileRefused(NOT_A_TABLE)
    stripped = text.lstrip()
    if not stripped:
        raise FileRefused(NO_ROWS)
    if stripped[0] == "<":
        raise FileRefused(NOT_A_TABLE)  # HTML, SVG, XML: markup that a CSV reader would take in
    return "json" if stripped[0] in "[{" else "csv"


@dataclass
class Table:
    """An open file's header and its rows as (line number, {column: value})."""

    header: list[str]
    rows: Iterator[tuple[int, dict]]
    total: int  # rows expected (for progress; a CSV cell may span lines, so an estimate)
    closers: list = field(default_factory=list)

    def close(self) -> None:
        for close in self.closers:
            close()


def table_open(fileobj, fmt: str) -> Table:
    """The table in ``fileobj`` (binary, seekable), read as ``fmt``."""
    fileobj.seek(0)
    opener = {"csv": csv_open, "xlsx": xlsx_open, "json": json_open}[fmt]
    return opener(fileobj)


def csv_open(fileobj) -> Table:
    total = max(line_count(fileobj) - 1, 0)
    text = io.TextIOWrapper(fileobj, encoding="utf-8-sig", newline="")
    try:
        sample = text.read(SNIFF_BYTES)
    except UnicodeDecodeError as error:
        text.detach()  # the caller's file stays open
        raise FileRefused(NOT_UTF8) from error
    text.seek(0)
    try:
        dialect = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=CSV_DELIMITERS)
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(text, dialect)
    header = header_clean(next(reader, None))

    def rows():
        try:
            for values in reader:
                if any(v.strip() for v in values):
                    yield reader.line_num, dict(zip(header, values, strict=False))
        except UnicodeDecodeError as error:  # a stray Windows-1258 letter far down the file
            raise FileRefused(NOT_UTF8) from error

    return Table(header, rows(), total, [text.detach])


def line_count(fileobj) -> int:
    """Newlines in the file, counted in binary chunks (a 20 MB file in milliseconds)."""
    fileobj.seek(0)
    count, last = 0, b""
    while chunk := fileobj.read(1024 * 1024):
        count += chunk.count(b"\n")
        last = chunk
    fileobj.seek(0)
    return count + (1 if last and not last.endswith(b"\n") else 0)


def xlsx_open(fileobj) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(fileobj, read_only=True, data_only=True)
    except Exception as error:  # a zip that is not a workbook: many exception types
        raise FileRefused(NOT_A_TABLE) from error
    sheet = workbook.active
    values = sheet.iter_rows(values_only=True)
    header = header_clean(next(values, None))

    def rows():
        for number, row in enumerate(values, start=2):
            cells = ["" if v is None else xlsx_text(v) for v in row]
            if any(c.strip() for c in cells):
                yield number, dict(zip(header, cells, strict=False))

    return Table(header, rows(), max((sheet.max_row or 1) - 1, 0), [workbook.close])


def xlsx_text(value) -> str:
    """A spreadsheet cell as the text a CSV would hold (dates as ISO, 12.0 as 12)."""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(timespec="minutes")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def json_open(fileobj) -> Table:
    try:
        document = json.loads(fileobj.read().decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise FileRefused(NOT_UTF8) from error
    except ValueError as error:
        raise FileRefused(JSON_SHAPE) from error
    if isinstance(document, dict):
        document = document.get("rows", document.get("data"))
    if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
        raise FileRefused(JSON_SHAPE)
    header = list(dict.fromkeys(key for item in document[:100] for key in item))

    def rows():
        for number, item in enumerate(document, start=1):
            yield number, {k: json_text(v) for k, v in item.items()}

    return Table(header_clean(header), rows(), len(document))


def json_text(value):
    """A JSON value as a cell: text stays text, objects and lists stay structured."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def header_clean(header) -> list[str]:
    if not header or not any(str(h or "").strip() for h in header):
        raise FileRefused(NO_HEADER)
    return [str(h or "").strip().lstrip("\ufeff") for h in header]


# --- row errors as CSV ---------------------------------------------------------------------------


class ErrorSheet:
    """Every row error of a run, written to a temporary CSV as it comes: row, column, message
    and the row's own values, each cell neutralised (a spreadsheet never runs it)."""

    def __init__(self, header: list[str]):
        self.header = header
        self.file = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 - closed by close()
        self.text = io.TextIOWrapper(self.file, encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.text)
        self.writer.writerow([_("row"), _("column"), _("error"), *header])
        self.count = 0

    def add(self, number: int, column: str, message: str, row: dict) -> None:
        self.count += 1
        values = [cell(row.get(name, "")) for name in self.header]
        self.writer.writerow([number, cell(column), cell(message), *values])

    def as_file(self) -> File:
        self.text.flush()
        self.file.seek(0)
        return File(self.file)

    def close(self) -> None:
        self.text.close()
