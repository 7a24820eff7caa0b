"""The steps of taking in one submission, shared by both ways a submission arrives.

``POST /api/v1/forms/{slug}/submissions`` is served by the Django view in ``api.py`` and,
on PostgreSQL, by the async ingest lane in ``ingest.py`` for bearer-token and anonymous
callers. Both are made of the steps below, so they check the same rules and answer with the
same statuses and messages; only their database access differs (ORM vs async psycopg).
Every step here is free of database queries.
"""

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from places.models import Area
from places.selectors import area_scope

from .models import FormPage, FormVersion, Submission
from .validation import SubmissionValidator

SOURCES_FROM_CLIENTS = {Submission.SOURCE_WEB, Submission.SOURCE_OFFLINE, Submission.SOURCE_API}
# PostgreSQL's JSON cannot store the NUL character (\u0000): refused here, not a database error.
NUL_IN_BODY = _lazy("The request body holds a NUL character, which no field may contain.")


@dataclass
class Reply:
    """An answer as data: the view turns it into a JsonResponse, the lane into ASGI messages."""

    status: int
    payload: dict
    headers: dict[str, str] = field(default_factory=dict)


def error_reply(status: int, detail: str, **extra) -> Reply:
    return Reply(status, {"detail": detail, **extra})


def language_of(accept_language: str) -> str:
    """Vietnamese unless the caller asks for English (Accept-Language)."""
    return "en" if accept_language.lower().startswith("en") else settings.LANGUAGE_CODE


def size_refusal(content_length) -> Reply | None:
    try:
        length = int(content_length or 0)
    except ValueError:
        length = 0
    if length > settings.SUBMISSION_MAX_BYTES:
        return too_large_reply()
    return None


def too_large_reply() -> Reply:
    return error_reply(413, _("The submission is too large."))


def form_refusal(form: FormPage | None, version: FormVersion | None) -> Reply | None:
    """Why the caller may not submit to this form (see selectors.form_for_caller), or None."""
    if form is None:
        return error_reply(404, _("No such form."))
    if version is None:
        return error_reply(401, _("Log in to use this form."))
    return None


def rate_limited_reply(retry_after: int) -> Reply:
    reply = error_reply(429, _("Too many submissions; try again shortly."))
    reply.headers["Retry-After"] = str(retry_after)
    return reply


PLACE_RATE_LIMITED = _lazy("Too many submissions at this place; try again shortly.")


def place_limited_reply(retry_after: int) -> Reply:
    reply = error_reply(429, str(PLACE_RATE_LIMITED))
    reply.headers["Retry-After"] = str(retry_after)
    return reply


TOKEN_GUESSING = _lazy("Too many requests with an unknown token; try again shortly.")


def token_guessing_reply(retry_after: int) -> Reply:
    """An IP over its limit of unknown bearer tokens (forms_engine.ratelimit.token_failures_blocked)."""
    reply = error_reply(429, str(TOKEN_GUESSING))
    reply.headers["Retry-After"] = str(retry_after)
    return reply


def parse_body(raw: bytes) -> tuple[dict, Reply | None]:
    """The JSON body checked for shape; errors keyed like field errors."""
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        return {}, errors_reply({"__all__": [_("The request body is not valid JSON.")]})
    if not isinstance(body, dict):
        return {}, errors_reply({"__all__": [_("The request body must be a JSON object.")]})
    if b"\\u0000" in (raw or b"") and holds_nul(body):
        return {}, errors_reply({"__all__": [str(NUL_IN_BODY)]})
    errors = {}
    try:
        body["client_id"] = uuid.UUID(str(body.get("client_id")))
    except ValueError:
        errors["client_id"] = [_("Send a client_id in UUID form.")]
    if "data" not in body:
        errors["data"] = [_("Send the field values in “data”.")]
    source = body.get("source") or Submission.SOURCE_API
    if not isinstance(source, str) or source not in SOURCES_FROM_CLIENTS:
        errors["source"] = [_("Unknown source.")]
    body["source"] = source
    body["client_created_at"] = parse_client_time(body.get("client_created_at"), errors)
    return body, errors_reply(errors) if errors else None


def holds_nul(value) -> bool:
    """Whether a parsed JSON value has the NUL character in any key or string."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(holds_nul(item) for item in value)
    return False


def parse_client_time(value, errors) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        errors["client_created_at"] = [_("Send the time in ISO 8601 form.")]
        return None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def errors_reply(errors: dict) -> Reply:
    return Reply(400, {"errors": errors})


def qr_code_of(body: dict) -> str:
    """The QR code's place code as printed, normalised (see places.selectors.place_in_use)."""
    return str(body.get("qr") or "").strip().upper()[:20]


def unknown_qr_error(errors: dict) -> None:
    errors.setdefault("qr", []).append(_("This QR code is not known."))


def validator_for(form: FormPage, version: FormVersion, *, user) -> SubmissionValidator:
    """Staff pick areas only inside their own area; a public form takes any in its area."""
    scope = area_scope(user=user)
    return SubmissionValidator(
        version.schema,
        form_area=form.area,
        scope_area=scope if isinstance(scope, Area) and not form.is_public else None,
    )


def outcome_reply(outcome) -> Reply:
    """201 for a new submission, 200 for a replay of the same data, 409 for other data."""
    submission = outcome.submission
    payload = {"id": submission.pk, "client_id": str(submission.client_id), "status": submission.status}
    if not outcome.same_data:
        return Reply(409, {**payload, "detail": _("This client_id was already used for other data.")})
    return Reply(201 if outcome.created else 200, payload)
