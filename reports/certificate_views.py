"""Certificates over HTTP: staff print them from the person page; anyone verifies a QR.

- ``/admin/certificates/quarantine/<order>/`` and ``/admin/certificates/test-result/<request>/``
  stream the one-page PDF (rendered synchronously: one page is quick). Only for a user who may
  see persons and whose area holds both the person and the order or request: anything else
  answers 404, as if it did not exist. An order not completed, a request without a result:
  back to the person page with the reason.
- ``/verify/<token>/`` is public: validity, initials, dates (reports.certificates), limited per
  IP with the project's fixed-window limiter.
"""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import translation
from django.views.decorators.http import require_GET
from wagtail.admin.auth import require_admin_access

from audit.services import access_record
from forms_engine.ratelimit import client_ip, rate_limit_hit
from places.selectors import area_scope
from tracing.models import TestRequest as SampleRequest
from tracing.selectors import orders_visible_to, persons_visible_to

from . import certificates

logger = logging.getLogger(__name__)

RATE_SCOPE = "certificate-verify"
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
FILE_NAMES = {
    certificates.KIND_QUARANTINE: "giay-xac-nhan-hoan-thanh-cach-ly-%s.pdf",
    certificates.KIND_TEST_RESULT: "phieu-tra-ket-qua-xet-nghiem-%s.pdf",
}
VERIFY_STATUS = {
    certificates.STATE_VALID: 200,
    certificates.STATE_REVOKED: 410,
    certificates.STATE_EXPIRED: 400,
    certificates.STATE_INVALID: 400,
}


# --- Staff: issue ----------------------------------------------------------------------------


def _require_person_access(request) -> None:
    # Without the right to see persons the certificate does not exist for this user.
    if not request.user.has_perm("tracing.view_person"):
        raise Http404


def _orders_in_scope(user):
    return orders_visible_to(user).filter(person__in=persons_visible_to(user).values("pk"))


def _test_requests_in_scope(user):
    """Requests of a person the user sees, whose own area (if any) is in the user's area."""
    requests = SampleRequest.objects.filter(person__in=persons_visible_to(user).values("pk"))
    scope = area_scope(user=user)
    if scope is True:
        return requests
    if scope is None:
        return requests.none()
    return requests.filter(Q(area__isnull=True) | Q(area__path__startswith=scope.path))


@require_GET
@require_admin_access
def quarantine_certificate(request, pk: int):
    _require_person_access(request)
    order = get_object_or_404(_orders_in_scope(request.user).select_related("person", "facility"), pk=pk)
    return _issue(request, lambda: certificates.quarantine_facts(order), person_id=order.person_id)


@require_GET
@require_admin_access
def test_result_slip(request, pk: int):
    _require_person_access(request)
    requests = _test_requests_in_scope(request.user).select_related("person", "result_submission__version")
    test_request = get_object_or_404(requests, pk=pk)
    return _issue(
        request, lambda: certificates.test_result_facts(test_request), person_id=test_request.person_id
    )


def _issue(request, read_facts, *, person_id: int):
    try:
        facts = read_facts()
    except certificates.CertificateRefused as refusal:
        messages.error(request, str(refusal.args[0]))
        return redirect("persons:inspect", person_id)
    pdf = certificates.certificate_pdf(
        facts, issued_by=_issued_by(request.user), base_url=_public_base(request)
    )
    logger.info("certificate %s-%s issued by user %s", facts.kind, facts.object_id, request.user.pk)
    access_record(
        request=request,
        action="print",
        kind="certificate",
        object_id=f"{facts.kind}-{facts.object_id}",
        area=facts.person.home_area_id,
        detail=f"person={person_id}",
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{FILE_NAMES[facts.kind] % facts.object_id}"'
    response["Cache-Control"] = "private, no-store"  # personal data: no cache keeps a copy
    return response


def _issued_by(user) -> str:
    return user.get_full_name().strip() or user.get_username()


def _public_base(request) -> str:
    """Where phones reach this site: the address staff use, unless it is a loopback one."""
    base = request.build_absolute_uri("/")
    return settings.WAGTAILADMIN_BASE_URL if urlsplit(base).hostname in LOOPBACK_HOSTS else base


# --- Public: verify --------------------------------------------------------------------------


@require_GET
def certificate_verify(request, token: str):
    retry_after = rate_limit_hit(client_ip(request), scope=RATE_SCOPE)
    with translation.override(certificates.DOCUMENT_LANGUAGE):
        if retry_after:
            response = TemplateResponse(
                request, "reports/certificates/verify.html", {"state": "limited"}, status=429
            )
            response["Retry-After"] = str(retry_after)
        else:
            response = _verification_page(request, certificates.certificate_verify(token))
        response.render()
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token must not leak to other sites
    response["X-Robots-Tag"] = "noindex"
    return response


def _verification_page(request, verification):
    context = {"state": verification.state}
    facts = verification.facts
    if verification.valid:
        context.update(
            title=certificates.KIND_TITLES[facts.kind],
            issuing_body=certificates.issuing_body(),
            initials=certificates.initials(facts.person.full_name),
            dates=facts.dates,
            kind=facts.kind,
            result_label=certificates.RESULT_LABELS.get(facts.result, ""),
        )
    return TemplateResponse(
        request,
        "reports/certificates/verify.html",
        context,
        status=VERIFY_STATUS[verification.state],
    )


staff_urlpatterns = [
    path("quarantine/<int:pk>/", quarantine_certificate, name="quarantine"),
    path("test-result/<int:pk>/", test_result_slip, name="test_result"),
]
