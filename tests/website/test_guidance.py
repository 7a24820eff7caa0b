"""Guidance pages: the PDF at ``<page url>.pdf`` rendered once per published revision by a real
RQ worker, parsed back with pypdf and pdftotext; the index's accent-free search; the QR of a
form link decoded from the printed page; what the public may not see."""

import io
import re
import shutil
import subprocess

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone, translation
from django.utils.translation import gettext
from PIL import Image
from pypdf import PdfReader
from wagtail.models import PageViewRestriction, Site

from tests.conftest import require
from tests.forms_engine.conftest import CHECKPOINT_FIELDS
from tests.workflows.conftest import burst, queues  # noqa: F401 - fixture
from website.guidance import GUIDANCE_PDF, guidance_pdf_event_key, guidance_pdf_render
from website.models import TOOL_GENERAL, GuidanceIndexPage, GuidancePage, GuidancePdf, HomePage
from workflows.jobs import events_handle
from workflows.models import Event
from workflows.outbox import relay_pending

pytestmark = pytest.mark.django_db

ISSUER = "Ban Chỉ đạo phòng, chống dịch COVID-19 tỉnh Khánh Hòa"
PDF_URL = "/huong-dan/khai-bao-y-te.pdf"
PREPARING = "The PDF of this guide is being prepared. This page reloads by itself in a few seconds."


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    Site.clear_site_root_paths_cache()
    yield tmp_path
    Site.clear_site_root_paths_cache()


@pytest.fixture
def home(wagtail_root):
    """A home page as the default site's root (as the demo makes it)."""
    home = wagtail_root.add_child(instance=HomePage(title="Trang chủ", slug="trang-chu", issuing_body=ISSUER))
    Site.objects.update_or_create(
        is_default_site=True,
        defaults={"hostname": "localhost", "root_page": home, "site_name": "Outbreak Desk"},
    )
    return home


@pytest.fixture
def index(home):
    page = GuidanceIndexPage(title="Hướng dẫn", slug="huong-dan")
    home.add_child(instance=page)
    page.save_revision().publish()
    return page


def paragraph(text):
    return {"type": "paragraph", "value": f"<p>{text}</p>"}


def heading(text, level="h2"):
    return {"type": "heading", "value": {"text": text, "level": level}}


def steps(*titles):
    return {"type": "steps", "value": [{"title": title, "text": "<p>Chi tiết.</p>"} for title in titles]}


def long_text(n):
    sentence = "Cán bộ tại chốt ghi nhận đầy đủ thông tin người khai báo, đối chiếu giấy tờ tùy thân. "
    return paragraph(sentence * n)


GUIDE_BODY = [
    heading("Ai phải khai báo y tế"),
    paragraph("Người đến từ Đắk Lắk, ví dụ ông Nguyễn Văn Ánh, phải khai báo y tế khi qua chốt."),
    long_text(60),
    heading("Các bước khai báo"),
    steps("Quét mã QR tại địa điểm", "Điền thông tin cá nhân", "Bấm Gửi"),
    heading("Trường hợp đặc biệt", "h3"),
    {
        "type": "table",
        "value": {
            "first_row_is_table_header": True,
            "first_col_is_header": False,
            "data": [["Đối tượng", "Cách làm"], ["Người cao tuổi", "Người thân khai hộ"]],
        },
    },
    long_text(60),
    heading("Câu hỏi thường gặp"),
    paragraph("Khai báo y tế là miễn phí."),
]


def publish_guide(index, *, slug="khai-bao-y-te", title="Hướng dẫn khai báo y tế", body=GUIDE_BODY, **fields):
    guide = GuidancePage(title=title, slug=slug, body=body, tool=fields.pop("tool", TOOL_GENERAL), **fields)
    index.add_child(instance=guide)
    guide.save_revision().publish()
    guide.refresh_from_db()
    return guide


def republish(guide, **changes):
    guide = GuidancePage.objects.get(pk=guide.pk)
    for name, value in changes.items():
        setattr(guide, name, value)
    guide.save_revision().publish()
    guide.refresh_from_db()
    return guide


def in_vietnamese(msgid: str) -> str:
    with translation.override("vi"):
        return gettext(msgid)


def run_jobs():
    """What the scheduler and a worker do: relay the outbox to RQ, then run the jobs."""
    relay_pending()
    burst()


def pdf_text(content: bytes) -> str:
    require(shutil.which("pdftotext") is not None, "needs pdftotext (poppler-utils)")
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True)
    return done.stdout.decode()


def test_publishing_records_the_pdf_event_in_the_same_transaction(index):
    guide = publish_guide(index)
    event = Event.objects.get(key=guidance_pdf_event_key(guide.live_revision_id))
    assert event.kind == GUIDANCE_PDF
    assert event.payload == {"page": guide.pk, "revision": guide.live_revision_id}


def test_the_worker_renders_the_pdf_and_it_reads_back_in_vietnamese(client, index, queues):  # noqa: F811
    guide = publish_guide(index)
    run_jobs()
    response = client.get(PDF_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="khai-bao-y-te.pdf"'
    content = b"".join(response.streaming_content)
    pages = len(PdfReader(io.BytesIO(content)).pages)
    assert pages >= 3
    assert GuidancePdf.objects.get(revision_id=guide.live_revision_id).page_count == pages
    text = pdf_text(content)
    assert text.count(ISSUER) == pages  # the running header, on every page
    footers = re.findall(r"(\d+) ?/ ?(\d+)\n\f", text)
    assert footers == [(str(number), str(pages)) for number in range(1, pages + 1)]
    assert in_vietnamese("Issued on %(date)s") % {"date": timezone.localdate().strftime("%d/%m/%Y")} in text
    for name in ("Nguyễn Văn Ánh", "Đắk Lắk", "khai báo y tế", "Người cao tuổi", "Quét mã QR tại địa điểm"):
        assert name in text


def test_the_table_of_contents_gives_each_heading_its_page(client, index, queues):  # noqa: F811
    publish_guide(index)
    run_jobs()
    content = b"".join(client.get(PDF_URL).streaming_content)
    pages = [pdf_text_of_page(content, n) for n in range(1, len(PdfReader(io.BytesIO(content)).pages) + 1)]
    toc = pages[0]
    assert in_vietnamese("Contents") in toc
    numbers = {}
    for title in ("Ai phải khai báo y tế", "Các bước khai báo", "Trường hợp đặc biệt", "Câu hỏi thường gặp"):
        entry = next(line for line in toc.splitlines() if title in line)
        numbers[title] = page_number = int(entry.split()[-1])
        in_contents = 1 if page_number == 1 else 0  # the contents are on page 1 too
        assert pages[page_number - 1].count(title) == in_contents + 1, (title, page_number)
    assert numbers["Câu hỏi thường gặp"] > numbers["Ai phải khai báo y tế"]  # the guide runs over pages


def pdf_text_of_page(content: bytes, number: int) -> str:
    done = subprocess.run(
        ["pdftotext", "-f", str(number), "-l", str(number), "-layout", "-", "-"],
        input=content,
        capture_output=True,
        check=True,
    )
    return done.stdout.decode()


def test_a_new_revision_gets_a_new_pdf_and_the_old_one_is_not_served(client, index, queues):  # noqa: F811
    guide = publish_guide(index)
    run_jobs()
    first = b"".join(client.get(PDF_URL).streaming_content)
    assert "Khai báo y tế là miễn phí." in pdf_text(first)

    republish(
        guide, body=[*GUIDE_BODY[:-1], paragraph("Từ ngày 01/9, khai báo tại chốt Vạn Ninh bằng mã QR.")]
    )
    response = client.get(PDF_URL)
    assert response.status_code == 202  # the new revision's PDF is not made yet; the old one is not served
    run_jobs()
    second = b"".join(client.get(PDF_URL).streaming_content)
    text = pdf_text(second)
    assert "chốt Vạn Ninh" in text
    assert "miễn phí" not in text
    assert GuidancePdf.objects.filter(page=guide).count() == 2


def test_the_job_run_twice_renders_once(index, media):
    guide = publish_guide(index)
    first = guidance_pdf_render(revision_id=guide.live_revision_id)
    files = sorted(p.name for p in (media / "guidance").iterdir())
    second = guidance_pdf_render(revision_id=guide.live_revision_id)
    assert (second.pk, second.file.name, second.rendered_at) == (first.pk, first.file.name, first.rendered_at)
    assert sorted(p.name for p in (media / "guidance").iterdir()) == files == [first.file.name.split("/")[-1]]

    event = Event.objects.get(key=guidance_pdf_event_key(guide.live_revision_id))
    handler = "website.handlers.guidance_pdf_make"
    assert events_handle(handler, [event.pk]) == {"handled": 1}  # finds the PDF made: renders nothing
    assert events_handle(handler, [event.pk]) == {"handled": 0}
    assert GuidancePdf.objects.count() == 1


def test_a_pdf_not_made_yet_answers_202_and_enqueues_it_once(client, index, queues):  # noqa: F811
    guide = publish_guide(index)
    Event.objects.all().delete()  # as if the publish event were lost: the request asks again

    response = client.get(PDF_URL)
    assert response.status_code == 202
    body = response.content.decode()
    assert 'http-equiv="refresh"' in body
    assert in_vietnamese(PREPARING) in body
    assert client.get(PDF_URL).status_code == 202
    assert Event.objects.filter(key=guidance_pdf_event_key(guide.live_revision_id)).count() == 1

    relay_pending()
    assert queues["documents"].count == 1
    burst()
    response = client.get(PDF_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


def test_unpublished_private_and_missing_guides_have_no_pdf(client, index, make_user):
    guide = publish_guide(index)
    guidance_pdf_render(revision_id=guide.live_revision_id)
    assert client.get(PDF_URL).status_code == 200

    restriction = PageViewRestriction.objects.create(page=guide, restriction_type=PageViewRestriction.LOGIN)
    assert client.get(PDF_URL).status_code == 404
    client.force_login(make_user("reader"))
    assert client.get(PDF_URL).status_code == 200
    client.logout()
    restriction.delete()

    guide.unpublish()
    assert client.get(PDF_URL).status_code == 404
    draft = GuidancePage(title="Bản nháp", slug="ban-nhap", live=False)
    index.add_child(instance=draft)
    draft.save_revision()
    assert client.get("/huong-dan/ban-nhap.pdf").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/huong-dan/khong-co.pdf",
        "/huong-dan.pdf",  # the index is not a guide
        "/huong-dan/khai-bao-y-te/khac.pdf",
        "/huong-dan/khai-bao-y-te.pdf.pdf",
        "/huong-dan/..%2f..%2fetc%2fpasswd.pdf",
    ],
)
def test_other_paths_are_not_guides(client, index, path):
    publish_guide(index)
    assert client.get(path).status_code == 404


def test_the_pdf_url_takes_no_post(client, index):
    publish_guide(index)
    assert client.post(PDF_URL).status_code == 405


def test_the_index_groups_guides_by_tool_and_finds_them_without_accents(client, index):
    publish_guide(index, tool="health_declaration")
    publish_guide(
        index,
        slug="doc-ban-do",
        title="Hướng dẫn đọc bản đồ dịch",
        tool="map",
        body=[paragraph("Bản đồ hiển thị ca F0 theo thôn, tổ dân phố.")],
    )
    page = client.get("/huong-dan/").content.decode()
    groups = [in_vietnamese("Health declaration"), in_vietnamese("Epidemic map")]
    assert page.index(f"<h2>{groups[0]}</h2>") < page.index(f"<h2>{groups[1]}</h2>")  # in the tools' order
    assert "Hướng dẫn khai báo y tế" in page and "Hướng dẫn đọc bản đồ dịch" in page

    found = client.get("/huong-dan/", {"q": "huong dan khai bao"}).content.decode()
    assert "Hướng dẫn khai báo y tế" in found
    assert "Hướng dẫn đọc bản đồ dịch" not in found
    by_body = client.get("/huong-dan/", {"q": "TO DAN PHO"}).content.decode()
    assert "Hướng dẫn đọc bản đồ dịch" in by_body and "Hướng dẫn khai báo y tế" not in by_body
    by_name = client.get("/huong-dan/", {"q": "dak lak"}).content.decode()
    assert "Hướng dẫn khai báo y tế" in by_name
    nothing = client.get("/huong-dan/", {"q": "xyz" * 10_000})
    assert nothing.status_code == 200
    assert "Hướng dẫn khai báo y tế" not in nothing.content.decode()


def test_the_guide_page_shows_its_contents_and_pdf_link(client, index):
    publish_guide(index)
    page = client.get("/huong-dan/khai-bao-y-te/").content.decode()
    assert 'href="/huong-dan/khai-bao-y-te.pdf"' in page
    assert in_vietnamese("Contents") in page
    assert page.count('href="#h-') == 4


@pytest.fixture
def decode():
    try:
        import zxingcpp
    except ImportError:
        zxingcpp = None
    require(zxingcpp is not None, "needs zxing-cpp")
    require(shutil.which("pdftoppm") is not None, "needs pdftoppm (poppler-utils)")

    def decode(content: bytes, page: int) -> list[str]:
        png = subprocess.run(
            ["pdftoppm", "-f", str(page), "-l", str(page), "-r", "200", "-png", "-"],
            input=content,
            capture_output=True,
            check=True,
        ).stdout
        image = Image.open(io.BytesIO(png))
        return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]

    return decode


def test_the_qr_of_a_form_link_opens_the_form(client, index, settings, decode, area_tree):
    from tests.factories import publish_form

    settings.WAGTAILADMIN_BASE_URL = "https://khaibao.example.vn"
    form = publish_form(
        index.get_parent(), slug="khai-bao-tai-chot", fields=CHECKPOINT_FIELDS, area=area_tree["province"]
    )
    body = [paragraph("Mở biểu mẫu:"), {"type": "form_link", "value": {"form": form.pk, "text": ""}}]
    guide = publish_guide(index, body=body)
    pdf = guidance_pdf_render(revision_id=guide.live_revision_id)
    content = pdf.file.read()
    assert "https://khaibao.example.vn/khai-bao-tai-chot/" in pdf_text(content)
    assert decode(content, 1) == ["https://khaibao.example.vn/khai-bao-tai-chot/"]
    page = client.get("/huong-dan/khai-bao-y-te/").content.decode()
    assert re.search(r'<svg [^>]*class="qr"', page)
    assert 'href="https://khaibao.example.vn/khai-bao-tai-chot/"' in page


def test_a_guide_takes_its_issuing_body_from_the_home_page_unless_it_names_one(index):
    guide = publish_guide(index)
    assert guide.issuer() == ISSUER
    guide.issuing_body = "Sở Y tế tỉnh Khánh Hòa"
    assert guide.issuer() == "Sở Y tế tỉnh Khánh Hòa"


# --- The demo's guides and the review workflow ---------------------------------------------------


@pytest.fixture
def demo_guides(home, area_tree, make_user):
    from tests.factories import publish_form
    from website.demo.guidance import demo_guidance_load

    make_user("lanhdao.tinh", area=area_tree["province"], role="leader")  # a reviewer in the demo
    publish_form(home, slug="khai-bao-tai-chot", fields=CHECKPOINT_FIELDS, area=area_tree["province"])
    return demo_guidance_load(home=home)


def test_the_demo_guides_cover_every_tool_and_their_pdfs_are_made_once(demo_guides):
    from website.demo.guidance import demo_guidance_load

    guides = GuidancePage.objects.live().order_by("pk")
    assert [g.slug for g in guides] == demo_guides
    assert {g.tool for g in guides} >= {
        "checkpoint", "tracing", "quarantine_checkin", "vaccination", "testing", "health_declaration",
        "quarantine_release", "map",
    }  # fmt: skip
    pdfs = GuidancePdf.objects.filter(page__in=guides)
    assert pdfs.count() == len(guides)
    assert all(pdf.ready and pdf.page_count >= 1 and not pdf.error for pdf in pdfs)
    checkpoint = guides.get(slug="khai-bao-tai-chot-kiem-soat")
    assert "form_link" in [block.block_type for block in checkpoint.body]

    revisions = {g.pk: g.live_revision_id for g in guides}
    demo_guidance_load(home=guides[0].get_parent().get_parent())
    assert {g.pk: g.live_revision_id for g in GuidancePage.objects.all()} == revisions
    assert GuidancePdf.objects.count() == len(guides)


def test_communications_staff_submit_guides_and_a_reviewer_publishes_them(demo_guides, area_tree, make_user):
    from places.models import GroupRole
    from website.demo.guidance import WORKFLOW_GUIDANCE

    index = GuidanceIndexPage.objects.get(slug="huong-dan")
    writer = make_user("truyenthong", area=area_tree["province"], role=GroupRole.ROLE_COMMUNICATIONS)
    reviewer = get_user_model().objects.get(username="lanhdao.tinh")
    assert index.permissions_for_user(writer).can_add_subpage()
    assert not index.permissions_for_user(writer).can_publish_subpage()

    guide = GuidancePage(
        title="Hướng dẫn mới", slug="huong-dan-moi", live=False, body=[paragraph("Nội dung.")]
    )
    index.add_child(instance=guide)
    revision = guide.save_revision(user=writer)
    workflow = guide.get_workflow()
    assert workflow.name == WORKFLOW_GUIDANCE
    state = workflow.start(guide, writer)
    task_state = state.current_task_state
    assert task_state.task.specific.user_can_access_editor(guide, reviewer)
    assert not task_state.task.specific.user_can_access_editor(guide, writer)
    task_state.task.specific.on_action(task_state, reviewer, "approve")

    guide.refresh_from_db()
    assert guide.live and guide.live_revision_id == revision.pk
    assert Event.objects.filter(key=guidance_pdf_event_key(revision.pk)).exists()
