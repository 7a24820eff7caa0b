"""WeasyPrint rendering shared by every document: guidance PDFs, situation reports, certificates.

Documents are rendered from Django templates that extend ``reports/print/base.html`` (A4,
header with the issuing body, footer with the date and page numbers). Resources are read from
this server's own static files and media storage only: a document never fetches anything over
the network, so text written by staff cannot make the renderer call internal services.
"""

import logging
import mimetypes
from urllib.parse import unquote, urlsplit

import weasyprint
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)

# Relative URLs in documents resolve against this base and are then served locally.
DOCUMENT_BASE_URL = "https://outbreak-desk.invalid/"


class LocalURLFetcher(URLFetcher):
    """Serves /static/ and /media/ URLs from disk and data: URIs; refuses everything else."""

    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            return super().fetch(url, headers)
        path = unquote(urlsplit(url).path)
        body = _local_bytes(path)
        if body is None:
            raise ValueError(f"Documents only read this server's static and media files: {url}")
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body, {"Content-Type": content_type})


def _local_bytes(path):
    if path.startswith(settings.STATIC_URL):
        found = finders.find(path.removeprefix(settings.STATIC_URL))
        if found:
            with open(found, "rb") as file:
                return file.read()
        return None
    if path.startswith(settings.MEDIA_URL):
        name = path.removeprefix(settings.MEDIA_URL)
        if ".." in name.split("/") or not default_storage.exists(name):
            return None
        with default_storage.open(name, "rb") as file:
            return file.read()
    return None


def render_pdf(html):
    """The PDF bytes of an HTML document (a string)."""
    document = weasyprint.HTML(
        string=html, base_url=DOCUMENT_BASE_URL, url_fetcher=LocalURLFetcher(timeout=5)
    )
    return document.write_pdf()


def render_template_pdf(template_name, context, request=None):
    """Render a template (extending ``reports/print/base.html``) to PDF bytes."""
    return render_pdf(render_to_string(template_name, context, request=request))
