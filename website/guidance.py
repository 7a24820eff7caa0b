"""Guides' PDFs: one per published revision, rendered by a job, kept in default storage.

Publishing a guide records a ``guidance.pdf`` outbox event for its new revision, in the
publishing transaction when there is one (``guidance_published``); the ``documents`` queue's
handler (website/handlers.py) renders it. A request for a PDF not rendered yet records the
same event (the key is the revision's, so a second request adds nothing) and is told to come
back: a request never renders a guide itself, except where jobs run in-process anyway (the
embedded default).
"""

import io
import logging
from urllib.parse import urlsplit

import segno
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.html import strip_tags
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from pypdf import PdfReader
from wagtail.models import Revision

from forms_engine.qr import LOOPBACK_HOSTS
from reports.pdf import render_template_pdf
from workflows.outbox import event_record

from .models import GuidancePage, GuidancePdf

logger = logging.getLogger(__name__)

GUIDANCE_PDF = "guidance.pdf"
PDF_TEMPLATE = "website/print/guidance.html"
DOCUMENT_LANGUAGE = "vi"
# A printed QR is scanned from paper that may be folded or smudged: Q restores 25 %.
QR_ERROR = "q"
ERROR_MAX_LENGTH = 2000


# --- Pieces the blocks and the page use ------------------------------------------------------


def form_absolute_url(form) -> str:
    """The address a phone opens: the form's Site, or ``WAGTAILADMIN_BASE_URL`` when that Site
    names a loopback host (Wagtail's default ``localhost`` means nothing to a phone)."""
    parts = form.get_url_parts()
    if parts is None:
        root, path = settings.WAGTAILADMIN_BASE_URL, form.url_path
    else:
        _site_id, root, path = parts
        if urlsplit(root).hostname in LOOPBACK_HOSTS:
            root = settings.WAGTAILADMIN_BASE_URL
    return f"{root.rstrip('/')}{path}"


def qr_svg(url: str) -> str:
    """An inline SVG QR code of ``url``, sized by the stylesheet (class "qr")."""
    svg = segno.make_qr(url, error=QR_ERROR).svg_inline(
        border=4, svgclass="qr", lineclass=None, omitsize=True
    )
    return mark_safe(svg)  # noqa: S308 - segno's own markup; the URL is escaped inside it


def stream_text(body) -> str:
    """The plain words of a guide's content: headings, text, steps, captions, table cells."""
    words = []
    for block in body:
        value = block.value
        if block.block_type == "heading":
            words.append(value["text"])
        elif block.block_type == "paragraph":
            words.append(strip_tags(value.source))
        elif block.block_type == "steps":
            for step in value:
                words += [step["title"], strip_tags(step["text"].source)]
        elif block.block_type == "image":
            words.append(value["caption"])
        elif block.block_type == "table" and value:
            words += [str(cell) for row in value.get("data") or [] for cell in row if cell]
    return " ".join(words)


# --- Publishing records the work --------------------------------------------------------------


def guidance_pdf_event_key(revision_id: int) -> str:
    return f"{GUIDANCE_PDF}:{revision_id}"


def guidance_pdf_request(*, page: GuidancePage, revision_id: int) -> None:
    """Ask for the PDF of a revision; asking again for the same revision changes nothing."""
    with transaction.atomic():
        event_record(
            kind=GUIDANCE_PDF,
            key=guidance_pdf_event_key(revision_id),
            payload={"page": page.pk, "revision": revision_id},
        )


def guidance_published(sender, instance, revision=None, **kwargs):
    """``page_published`` receiver: a guide's new revision gets its PDF made."""
    if isinstance(instance, GuidancePage) and revision is not None:
        guidance_pdf_request(page=instance, revision_id=revision.pk)


# --- What a request serves ----------------------------------------------------------------------


def guidance_pdf_current(page: GuidancePage) -> GuidancePdf | None:
    """The PDF of the guide's live revision, rendered or not; None if nobody asked for it yet.
    An older revision's PDF is never returned: a reader always gets what the page says now."""
    if page.live_revision_id is None:
        return None
    return GuidancePdf.objects.filter(revision_id=page.live_revision_id).first()


# --- The job's work --------------------------------------------------------------------------------


def guidance_pdf_render(*, revision_id: int) -> GuidancePdf:
    """Render and store the PDF of a guide's revision, once: a revision already rendered (or
    that failed) is returned as it is. A failure is kept on the row, not raised, so that a guide
    that cannot be rendered does not retry forever; publishing a corrected revision renders anew."""
    revision = Revision.page_revisions.select_related("content_type").get(pk=revision_id)
    done = GuidancePdf.objects.filter(revision=revision).first()
    if done is not None and (done.ready or done.error):
        return done
    guide = revision.as_object()
    pdf = done or GuidancePdf(page_id=guide.pk, revision=revision)
    try:
        content = guidance_pdf_bytes(guide, revision=revision)
    except Exception as error:  # WeasyPrint's and the templates' errors alike
        logger.exception("guide %s, revision %s: PDF failed", guide.pk, revision_id)
        pdf.error = f"{type(error).__name__}: {error}"[:ERROR_MAX_LENGTH]
        pdf.save()
        return pdf
    pdf.file.save(f"{guide.slug}-{revision_id}.pdf", ContentFile(content), save=False)
    pdf.page_count = len(PdfReader(io.BytesIO(content)).pages)
    pdf.rendered_at = timezone.now()
    pdf.error = ""
    pdf.save()
    return pdf


def guidance_pdf_bytes(guide: GuidancePage, *, revision: Revision) -> bytes:
    """The PDF of ``guide`` as it stands in ``revision`` (Vietnamese whatever the caller's language)."""
    with translation.override(DOCUMENT_LANGUAGE):
        issued = timezone.localtime(revision.created_at).date()
        context = {
            "page": guide,
            "headings": guide.headings(),
            "document_title": guide.title,
            "issuing_body": guide.issuer(),
            "issued_on_label": _("Issued on %(date)s") % {"date": formats.date_format(issued, "d/m/Y")},
        }
        return render_template_pdf(PDF_TEMPLATE, context)
