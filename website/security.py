"""Defences against abuse that are not one feature's own (docs/security.md, "Abuse and attack").

- ``LoginAttemptsBackend``: django-axes' lockout of a username+IP after repeated failed logins.
- ``SecurityHeadersMiddleware``: the response headers Django has no setting for.
- ``SafeDocumentForm``: Wagtail documents whose bytes match their extension.
"""

import logging

from axes.backends import AxesStandaloneBackend
from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from wagtail.documents.forms import BaseDocumentForm

logger = logging.getLogger(__name__)

DOCUMENT_MISMATCH = _("The file’s content does not match its extension “.%(extension)s”.")
DOCUMENT_MARKUP = _("The file contains web page or script markup and cannot be stored.")

# Magic numbers of the binary types WAGTAILDOCS_EXTENSIONS allows; CSV is text, checked apart.
DOCUMENT_SIGNATURES = {
    "pdf": (b"%PDF-",),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
    "zip": (b"PK\x03\x04", b"PK\x05\x06"),
}
# Markup a browser or an office program could run if it ever opened the text as a page.
MARKUP_MARKERS = (b"<script", b"<html", b"<svg", b"<!doctype", b"<iframe", b"<body", b"javascript:")
SNIFF_BYTES = 8192


class LoginAttemptsBackend(AxesStandaloneBackend):
    """django-axes' check before the password is looked at.

    Axes refuses ``authenticate()`` without a request; scripts and management commands that
    check a password have none, and no attacker behind them, so they pass through.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def login_client_ip(request) -> str | None:
    """The address axes counts failures of: REMOTE_ADDR, as uvicorn's --proxy-headers set it
    (forms_engine.ratelimit.client_ip); None rather than a non-address, which PostgreSQL refuses."""
    return request.META.get("REMOTE_ADDR") or None


def lockout_response(request, original_response=None, credentials=None):
    """The lockout page (429, Retry-After), in the admin's look, for every login form."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": minutes}
    response = render(request, "website/security/lockout.html", context, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


class SecurityHeadersMiddleware:
    """Permissions-Policy on every answer (SecurityMiddleware sets COOP, Referrer-Policy, nosniff)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


def document_refusal(name: str, head: bytes) -> str | None:
    """Why a document with this file name and these first bytes may not be stored, or None."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    signatures = DOCUMENT_SIGNATURES.get(extension)
    if signatures is not None:
        if not head.startswith(signatures):
            return str(DOCUMENT_MISMATCH % {"extension": extension})
        return None
    # Text (CSV): no binary, no markup at all.
    if b"\x00" in head:
        return str(DOCUMENT_MISMATCH % {"extension": extension})
    lowered = head.lower()
    if lowered.lstrip().startswith(b"<") or any(marker in lowered for marker in MARKUP_MARKERS):
        return str(DOCUMENT_MARKUP)
    return None


class SafeDocumentForm(BaseDocumentForm):
    """Wagtail's document form (single and multiple upload) with the bytes checked.

    Wagtail checks the extension only; a .pdf that is really an HTML page would otherwise be
    stored and offered for download under the site's name.
    """

    def clean_file(self):
        file = self.cleaned_data.get("file")
        if isinstance(file, UploadedFile):
            head = file.read(SNIFF_BYTES)
            file.seek(0)
            if problem := document_refusal(file.name, head):
                logger.warning("document refused: %s (%s)", file.name, problem)
                raise forms.ValidationError(problem)
        return file
