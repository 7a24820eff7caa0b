"""Stored XSS: script in a form's labels, help texts, choice labels and title, and in the values
citizens send, shows as text everywhere it is shown: the admin (submission listing, detail,
review, person page), the public form page, the live map's popups, and the PDFs."""

import re
import shutil
import subprocess
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from forms_engine.models import Submission
from places.folding import fold
from reports.situation import situation_pdf
from tests.conftest import require
from tests.factories import field, publish_form
from tests.forms_engine.conftest import home  # noqa: F401 - fixture
from tracing.models import Person, QuarantineOrder, SubmissionPerson
from website.guidance import guidance_pdf_bytes
from website.models import GuidanceIndexPage, GuidancePage

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(1)"
# What a browser would run if any of them came through unescaped.
RAW = ("<script>alert(1)", "<img src=x onerror")
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


def assert_inert(html: str) -> None:
    for raw in RAW:
        assert raw not in html, f"unescaped: {raw}"
    assert not re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", html, re.I), "a javascript: URL"


@pytest.fixture
def staff(client, make_user, area_tree):
    user = make_user("admin", area=area_tree["province"], superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def poisoned(home, area_tree):  # noqa: F811
    form = publish_form(
        home,
        slug="xss",
        title=f"Phiếu {SCRIPT}",
        area=area_tree["province"],
        kind="health_declaration",
        public=True,
        fields=[
            field("person", f"Người {SCRIPT}", "person", role="person", birth="year", help_text=IMG),
            field("short_text", SCRIPT, "note", help_text=IMG),
            field("short_text", "Trang web", "site"),
            field(
                "single_choice",
                f"Chọn {IMG}",
                "pick",
                choices=[{"value": "a", "label": SCRIPT}, {"value": "b", "label": IMG}],
            ),
        ],
    )
    person = Person.objects.create(
        full_name=SCRIPT,
        name_folded=fold(SCRIPT),
        address=IMG,
        home_area=area_tree["dong_cau"],
        birth_year=1990,
    )
    submission = Submission.objects.create(
        form=form,
        version=form.current_version,
        client_id=uuid.uuid4(),
        data={"person": {"full_name": SCRIPT, "address": IMG}, "note": IMG, "site": JS_URL, "pick": "a"},
        data_hash=uuid.uuid4().hex,
        area=area_tree["dong_cau"],
    )
    SubmissionPerson.objects.create(submission=submission, path="person", person=person)
    return {"form": form, "person": person, "submission": submission}


@pytest.mark.parametrize(
    "url_of",
    [
        lambda p: reverse("submissions:list"),
        lambda p: reverse("submissions:list") + f"?form={p['form'].pk}",
        lambda p: reverse("submissions:inspect", args=[p["submission"].pk]),
        lambda p: reverse("submissions:edit", args=[p["submission"].pk]),
        lambda p: reverse("persons:index"),
        lambda p: reverse("persons:inspect", args=[p["person"].pk]),
    ],
    ids=["listing", "listing-of-form", "detail", "review", "persons", "person-page"],
)
def test_admin_pages_show_it_as_text(client, staff, poisoned, url_of):
    response = client.get(url_of(poisoned))
    assert response.status_code == 200
    html = response.content.decode()
    assert_inert(html)
    assert ESCAPED_SCRIPT in html  # shown, as text


def test_the_public_form_page_hands_it_to_its_script_as_data(client, poisoned):
    html = client.get(poisoned["form"].url).content.decode()
    assert_inert(html)
    assert ESCAPED_SCRIPT in html  # the title
    # The schema goes in a JSON script element: "<" as \u003C, so it cannot end the element.
    assert "\\u003Cscript\\u003Ealert(1)" in html


def test_the_scripts_build_the_dom_from_text_never_from_html():
    """form.js, entry.js, outbox.js and the live pages' scripts (map popups and tooltips)
    put every server value in with textContent or as a text node."""
    roots = [
        Path(django_settings.BASE_DIR) / app / "static" for app in ("forms_engine", "website", "reports")
    ]
    scripts = [path for root in roots for path in root.rglob("*.js") if "vendor" not in path.parts]
    assert any(path.name == "map.js" for path in scripts) and any(path.name == "form.js" for path in scripts)
    for path in scripts:
        source = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{path.name} uses {sink}"
    map_js = next(path for path in scripts if path.name == "map.js").read_text()
    # Leaflet's bindPopup/bindTooltip take HTML when given a string: ours give them elements.
    calls = re.findall(r"bind(?:Popup|Tooltip)\((.{0,40})", map_js)
    assert len(calls) == 3 and all("this.popup(" in call or "this.tooltip(" in call for call in calls), calls
    # ... and those build their elements with text (OD.element's "text" is textContent).
    assert 'if (name === "text") node.textContent = value;' in (roots[1] / "website/live/live.js").read_text()


# --- PDFs, parsed back: the text is there, literally -----------------------------------------


def pdf_text(pdf: bytes, tmp_path) -> str:
    require(bool(shutil.which("pdftotext")), "needs pdftotext (apt-get install poppler-utils)")
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(["pdftotext", path, "-"], check=True, capture_output=True, text=True, timeout=60)
    return re.sub(r"\s+", " ", result.stdout)


def test_a_certificate_prints_the_name_as_text(client, staff, poisoned, area_tree, tmp_path):
    order = QuarantineOrder.objects.create(
        person=poisoned["person"],
        kind="home",
        area=area_tree["dong_cau"],
        start_date=date(2021, 8, 1),
        planned_end=date(2021, 8, 14),
        status=QuarantineOrder.STATUS_COMPLETED,
        ended_at=timezone.now() - timedelta(days=1),
    )
    response = client.get(reverse("certificates:quarantine", args=[order.pk]))
    assert response.status_code == 200
    pdf = b"".join(response.streaming_content) if response.streaming else response.content
    assert SCRIPT in pdf_text(pdf, tmp_path)


def test_the_situation_report_prints_area_names_as_text(area_tree, tmp_path):
    area_tree["dong_cau"].add_child(code="22711-02-09", name=SCRIPT, level_label="Tổ")
    area_tree["suoi_tan"].add_child(code="22711-09", name=IMG, level_label="Thôn")
    text = pdf_text(situation_pdf(area_tree["suoi_tan"], timezone.localdate()), tmp_path)
    assert IMG in text


def test_a_guide_prints_its_text_as_text(home, tmp_path):  # noqa: F811
    index = home.add_child(instance=GuidanceIndexPage(title="Hướng dẫn", slug="huong-dan"))
    guide = index.add_child(
        instance=GuidancePage(
            title=f"Hướng dẫn {SCRIPT}",
            slug="xss",
            intro=IMG,
            body=[{"type": "heading", "value": {"text": SCRIPT, "level": "h2"}}],
        )
    )
    revision = guide.save_revision()
    revision.publish()
    text = pdf_text(guidance_pdf_bytes(GuidancePage.objects.get(pk=guide.pk), revision=revision), tmp_path)
    assert SCRIPT in text and IMG in text
