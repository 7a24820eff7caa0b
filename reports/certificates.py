"""Certificates with a verifiable QR: the quarantine completion certificate and the test-result slip.

Staff print one for a person in their scope (reports/certificate_views.py); its QR holds the
address of a public page that says whether the paper is still true. The token in that address
is signed (``django.core.signing``, a salt of its own) and carries only the kind, the object's
id and a fingerprint of the facts printed on the paper (person, name, dates, result). Nothing
is stored: verifying re-reads the object and recomputes the fingerprint, so a paper verifies
only while its facts hold. An order reopened by an undone merge, a result corrected, a person
merged into another: the fingerprint no longer matches and the page says "no longer valid".

The public page shows the least that lets a reader check the paper in front of them: validity,
the kind, the name's initials and the dates (and, for a slip, the result, without which a slip
altered from positive to negative would still "verify"). Never the full name, ID, phone or
address: the QR may be photographed by anyone the person shows the paper to.

Tokens expire after ``CERTIFICATE_TOKEN_MAX_AGE_DAYS`` (setting, default 365).
"""

import base64
import hashlib
import time
import unicodedata
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from places.folding import initials  # noqa: F401 - the certificates' (views and tests read it here)
from places.selectors import area_ancestors
from tracing.models import Person, QuarantineOrder
from tracing.models import TestRequest as SampleRequest

from .pdf import render_template_pdf

SALT = "reports.certificates"
DEFAULT_MAX_AGE_DAYS = 365
DOCUMENT_LANGUAGE = "vi"  # a certificate is a Vietnamese paper whatever the admin's language
KIND_QUARANTINE = "q"
KIND_TEST_RESULT = "t"
RESULTS = ("negative", "positive", "inconclusive")
RESULT_LABELS = {
    "negative": _("Negative"),
    "positive": _("Positive"),
    "inconclusive": _("Inconclusive"),
}
KIND_TITLES = {
    KIND_QUARANTINE: _("Quarantine completion certificate"),
    KIND_TEST_RESULT: _("Test result slip"),
}

NOT_COMPLETED = _("Only a completed quarantine order has a completion certificate.")
NO_RESULT = _("This test request has no recorded result yet.")
STATE_VALID = "valid"
STATE_INVALID = "invalid"
STATE_EXPIRED = "expired"
STATE_REVOKED = "revoked"


class CertificateRefused(Exception):
    """The object cannot have this certificate (yet); the message says why."""


@dataclass(frozen=True)
class Facts:
    """What a certificate states: printed on the paper, fingerprinted in its token."""

    kind: str
    object_id: int
    person: Person
    dates: dict[str, date]  # start/end, or sample/result
    result: str = ""
    place: str = ""  # where the quarantine was (printed, not fingerprinted)

    @property
    def fingerprint(self) -> str:
        """A short hash of the facts shown: any change to them changes it."""
        parts = [
            self.kind,
            str(self.object_id),
            str(self.person.pk),
            unicodedata.normalize("NFC", self.person.full_name.strip()),
            *(f"{name}={day.isoformat()}" for name, day in sorted(self.dates.items()) if day),
            self.result,
        ]
        digest = hashlib.sha256("|".join(parts).encode()).digest()
        return base64.urlsafe_b64encode(digest[:9]).decode()  # 72 bits, 12 characters

    @property
    def payload(self) -> str:
        return f"{self.kind}{self.object_id}.{self.fingerprint}"


# --- Facts from the tracing records ----------------------------------------------------------


def quarantine_facts(order: QuarantineOrder) -> Facts:
    """The facts of a completed order; CertificateRefused for any other."""
    if order.status != QuarantineOrder.STATUS_COMPLETED:
        raise CertificateRefused(NOT_COMPLETED)
    end = timezone.localdate(order.ended_at) if order.ended_at else order.planned_end
    place = order.facility.name if order.facility_id else str(order.get_kind_display())
    return Facts(
        kind=KIND_QUARANTINE,
        object_id=order.pk,
        person=order.person,
        dates={"start": order.start_date, "end": end},
        place=place,
    )


def test_result_facts(test_request: SampleRequest) -> Facts:
    """The facts of a request closed by a recorded result; CertificateRefused otherwise."""
    submission = test_request.result_submission
    if test_request.status != SampleRequest.STATUS_DONE or submission is None:
        raise CertificateRefused(NO_RESULT)
    result = _role_value(submission, "test_result")
    if result not in RESULTS or submission.status != submission.STATUS_ACCEPTED:
        raise CertificateRefused(NO_RESULT)
    result_day = timezone.localdate(test_request.closed_at or submission.created_at)
    return Facts(
        kind=KIND_TEST_RESULT,
        object_id=test_request.pk,
        person=test_request.person,
        dates={"sample": _as_date(_role_value(submission, "sample_date")), "result": result_day},
        result=result,
    )


def _role_value(submission, role: str):
    key = next((spec["key"] for spec in submission.version.schema if spec.get("role") == role), None)
    return submission.data.get(key) if key else None


def _as_date(value) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def facts_for(kind: str, object_id: int) -> Facts | None:
    """The current facts of an object, or None when it is gone or can no longer have them."""
    try:
        if kind == KIND_QUARANTINE:
            order = QuarantineOrder.objects.select_related("person", "facility").filter(pk=object_id).first()
            return quarantine_facts(order) if order else None
        if kind == KIND_TEST_RESULT:
            query = SampleRequest.objects.select_related("person", "result_submission__version")
            test_request = query.filter(pk=object_id).first()
            return test_result_facts(test_request) if test_request else None
    except CertificateRefused:
        return None
    return None


# --- The token -----------------------------------------------------------------------------


class _Signer(signing.TimestampSigner):
    """Django's timestamped signer with a salt of its own; ``at`` backdates a token (tests)."""

    def __init__(self, *, salt: str = SALT, at: float | None = None):
        super().__init__(salt=salt)
        self.at = at

    def timestamp(self):
        return signing.b62_encode(int(self.at if self.at is not None else time.time()))


def certificate_token(facts: Facts, *, at: float | None = None) -> str:
    """The signed token the QR carries: ``<kind><id>.<fingerprint>:<time>:<signature>``."""
    return _Signer(at=at).sign(facts.payload)


def max_age_seconds() -> int:
    return int(getattr(settings, "CERTIFICATE_TOKEN_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS)) * 86400


@dataclass(frozen=True)
class Verification:
    state: str
    facts: Facts | None = None

    @property
    def valid(self) -> bool:
        return self.state == STATE_VALID


def certificate_verify(token: str) -> Verification:
    """Whether a token is genuine, unexpired, and its facts still hold."""
    if not isinstance(token, str) or len(token) > 200:
        return Verification(STATE_INVALID)
    try:
        payload = _Signer().unsign(token, max_age=max_age_seconds())
    except signing.SignatureExpired:
        return Verification(STATE_EXPIRED)
    except signing.BadSignature:
        return Verification(STATE_INVALID)
    kind, object_id, fingerprint = _parse(payload)
    if kind is None:
        return Verification(STATE_INVALID)
    facts = facts_for(kind, object_id)
    if facts is None or facts.fingerprint != fingerprint:
        return Verification(STATE_REVOKED)
    return Verification(STATE_VALID, facts)


def _parse(payload: str) -> tuple[str | None, int, str]:
    head, _dot, fingerprint = payload.partition(".")
    kind, digits = head[:1], head[1:]
    if kind not in KIND_TITLES or not digits.isdigit() or not fingerprint:
        return None, 0, ""
    return kind, int(digits), fingerprint


def verify_url(token: str, *, base_url: str | None = None) -> str:
    """The absolute address of the public verification page, for the QR."""
    base_url = (base_url or settings.WAGTAILADMIN_BASE_URL).rstrip("/")
    return f"{base_url}{reverse('certificate_verify', args=[token])}"


# --- What is shown -------------------------------------------------------------------------


def birth_year(person: Person) -> int | None:
    return person.birth_year or (person.birth_date.year if person.birth_date else None)


def address_line(person: Person) -> str:
    """The address and the home area from the village up ("Thôn Đồng Cau, Xã Suối Tân, …")."""
    parts = [person.address.strip()] if person.address.strip() else []
    if person.home_area_id:
        chain = area_ancestors(area=person.home_area, include_self=True)
        parts += reversed([area.name for area in chain])
    return ", ".join(parts)


def issuing_body() -> str:
    """The issuing body named on the site's home page, else the site's name.

    reports must not import website: the home page is read through Wagtail's Site.
    """
    from wagtail.models import Site

    site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
    if site is not None:
        body = getattr(site.root_page.specific, "issuing_body", "")
        if body:
            return body
        if site.site_name:
            return site.site_name
    return settings.WAGTAIL_SITE_NAME


def certificate_context(facts: Facts, *, token: str, url: str, issued_by: str = "") -> dict:
    """Everything the certificate's template shows."""
    import segno

    qr = segno.make_qr(url, error="m")
    today = timezone.localdate()
    return {
        "document_title": KIND_TITLES[facts.kind],
        "issuing_body": issuing_body(),
        "issued_on_label": _("Issued on %(date)s") % {"date": today.strftime("%d/%m/%Y")},
        "facts": facts,
        "person": facts.person,
        "birth_year": birth_year(facts.person),
        "address": address_line(facts.person),
        "result_label": RESULT_LABELS.get(facts.result, ""),
        "number": f"{facts.kind.upper()}-{facts.object_id}",
        "today": today,
        "qr_svg": qr.svg_inline(scale=1, border=4, dark="#000", light="#fff", omitsize=True),
        "verify_url": url,
        "token": token,
        "issued_by": issued_by,
    }


TEMPLATES = {
    KIND_QUARANTINE: "reports/certificates/quarantine.html",
    KIND_TEST_RESULT: "reports/certificates/test_result.html",
}


def certificate_pdf(facts: Facts, *, issued_by: str = "", base_url: str | None = None) -> bytes:
    """The one-page PDF of a certificate, in Vietnamese, with a fresh token in its QR."""
    token = certificate_token(facts)
    url = verify_url(token, base_url=base_url)
    with translation.override(DOCUMENT_LANGUAGE):
        context = certificate_context(facts, token=token, url=url, issued_by=issued_by)
        return render_template_pdf(TEMPLATES[facts.kind], context)
