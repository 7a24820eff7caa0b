"""A guide's PDF at its page's URL plus ".pdf" (``/huong-dan/khai-bao-y-te.pdf``).

Wagtail's own URL pattern only matches paths that end in "/", so this view comes before it in
website/urls.py and routes the rest of the path through the page tree as Wagtail would: a
guide moved or renamed keeps its PDF next to its page.
"""

from django.http import FileResponse, Http404
from django.template.response import TemplateResponse
from django.views.decorators.http import require_safe
from wagtail.models import Site

from .guidance import guidance_pdf_current, guidance_pdf_request
from .models import GuidancePage

PENDING_TEMPLATE = "website/guidance_pdf_pending.html"
PENDING_REFRESH_SECONDS = 5


@require_safe
def guidance_pdf(request, path: str):
    guide = guide_at(request, path)
    pdf = guidance_pdf_current(guide)
    if pdf is None:
        guidance_pdf_request(page=guide, revision_id=guide.live_revision_id)
        # Where jobs run in-process (the embedded default) it is made by now.
        pdf = guidance_pdf_current(guide)
    if pdf is not None and pdf.ready:
        return pdf_response(pdf, filename=f"{guide.slug}.pdf")
    context = {"page": guide, "failed": bool(pdf and pdf.error), "refresh": PENDING_REFRESH_SECONDS}
    status = 503 if context["failed"] else 202
    return TemplateResponse(request, PENDING_TEMPLATE, context, status=status)


def guide_at(request, path: str) -> GuidancePage:
    """The live guide whose URL is ``/<path>/`` on the request's site, if the visitor may read
    it; else 404 (unpublished, private to others, or no guide there)."""
    site = Site.find_for_request(request)
    if site is None:
        raise Http404
    # Page.route raises Http404 for a missing or unpublished page on the way.
    result = site.root_page.localized.specific.route(request, [part for part in path.split("/") if part])
    guide = result[0].specific  # a RouteResult, or the (page, args, kwargs) of older pages
    if not isinstance(guide, GuidancePage) or guide.live_revision_id is None:
        raise Http404
    if any(not restriction.accept_request(request) for restriction in guide.get_view_restrictions()):
        raise Http404  # a private guide's PDF is not shown even its title to the public
    return guide


def pdf_response(pdf, *, filename: str) -> FileResponse:
    return FileResponse(pdf.file.open("rb"), content_type="application/pdf", filename=filename)
