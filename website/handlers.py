"""Outbox handlers of the website app (imported at app ready)."""

from workflows.events import handles

from .guidance import GUIDANCE_PDF, guidance_pdf_render


@handles(GUIDANCE_PDF, queue="documents")
def guidance_pdf_make(event):
    """Render a guide revision's PDF; a second run finds it made and renders nothing."""
    pdf = guidance_pdf_render(revision_id=event.payload["revision"])
    return {"pdf": pdf.pk, "pages": pdf.page_count, "error": bool(pdf.error)}
