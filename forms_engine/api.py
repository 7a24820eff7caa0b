"""/api/v1/ endpoints for forms and submissions (the contract is in DESIGN.md and docs/forms.md).

Callers authenticate with ``Authorization: Bearer <token>`` (Wagtail API tokens issued in
the admin) or with their site session plus the CSRF header. Public forms take anonymous
submissions, rate-limited per IP.
"""

import uuid
from datetime import date, datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate
from wagtail.api.v3.auth import BearerTokenAuth

from places.models import Area, Place
from places.selectors import ancestor_paths, area_scope, areas_visible_to, place_in_use, scope_queryset

from .intake import (
    Reply,
    errors_reply,
    form_refusal,
    language_of,
    outcome_reply,
    parse_body,
    place_limited_reply,
    qr_code_of,
    rate_limited_reply,
    size_refusal,
    token_guessing_reply,
    unknown_qr_error,
    validator_for,
)
from .models import Submission
from .ratelimit import (
    client_ip,
    place_rate_limit_hit,
    rate_limit_hit,
    token_failure_record,
    token_failures_blocked,
)
from .schema import form_document
from .selectors import form_for_caller, forms_visible_to
from .services import submission_create, submission_prepare
from .uploads import TOO_LARGE, upload_store

router = Router(tags=["forms"])


class TokenGuessing(Exception):
    """Raised by ``caller`` for an IP over its limit of unknown bearer tokens (a 429, website/api.py)."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


def token_guessing_response(request, exc: TokenGuessing) -> JsonResponse:
    return reply_response(token_guessing_reply(exc.retry_after))


def caller(request: HttpRequest):
    """(user, token) from a bearer token, else from a session that passes the CSRF check.

    A session without a valid CSRF token counts as anonymous: a cookie alone never acts.
    """
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        if retry_after := token_failures_blocked(client_ip(request)):
            raise TokenGuessing(retry_after)
        token = BearerTokenAuth().authenticate(request, header[7:].strip())
        if token is None:
            token_failure_record(client_ip(request))
        return (token.user, token) if token else (AnonymousUser(), None)
    user = getattr(request, "user", AnonymousUser())
    unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
    if user.is_authenticated and unsafe and not csrf_passes(request):
        return AnonymousUser(), None
    return user, None


def csrf_passes(request) -> bool:
    return CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {}) is None


def json_response(payload: dict, status: int) -> JsonResponse:
    """JSON with Vietnamese letters as they are, not \\u escapes."""
    return JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})


def error_response(status: int, detail: str, **extra) -> JsonResponse:
    return json_response({"detail": detail, **extra}, status)


def reply_response(reply: Reply) -> JsonResponse:
    response = json_response(reply.payload, reply.status)
    for name, value in reply.headers.items():
        response[name] = value
    return response


# --- forms -------------------------------------------------------------------------------


class FormSummary(Schema):
    slug: str
    title: str
    kind: str
    version: int
    public: bool
    url: str


@router.get("/forms", response=list[FormSummary], summary="Published forms the caller may use")
def form_list(request):
    user, _token = caller(request)
    return [
        {
            "slug": f.slug,
            "title": f.title,
            "kind": f.kind,
            "version": v.number,
            "public": f.is_public,
            "url": f.url or "",  # a form outside every site has no URL
        }
        for f, v in forms_visible_to(user=user)
    ]


@router.get("/forms/{slug}", summary="A form's schema: fields, conditions, validation")
def form_detail(request, slug: str):
    user, _token = caller(request)
    form, version = form_for_caller(slug=slug, user=user)
    if form is None:
        return error_response(404, _("No such form."))
    if version is None:
        return error_response(401, _("Log in to use this form."))
    return form_document(version)


# --- submissions -------------------------------------------------------------------------


SUBMISSION_ANSWERS = {  # the contract (DESIGN.md, README), shown on the OpenAPI page
    201: "Stored: {id, client_id, status} (status accepted, or in_review under a workflow).",
    200: "The same client_id with the same data again: the same body as its 201.",
    400: 'Invalid: {"errors": {"<field path>": ["message"]}}, nothing stored.',
    401: "The form is not public: log in (session) or send a bearer token.",
    404: "No such form (a staff form outside a logged-in caller's area reads the same).",
    409: "This client_id was already used for other data.",
    413: "The body is larger than SUBMISSION_MAX_BYTES.",
    429: "Over the per-IP (or per-QR-place) limit of a public form; Retry-After says when to try again.",
    503: "The database cannot take it now; nothing stored; Retry-After says when to try again.",
}

# The body is read by intake.parse_body (shared with the ingest lane), not by a ninja schema:
# described here so that the OpenAPI page (and schemathesis) know it.
SUBMISSION_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["client_id", "data"],
                "properties": {
                    "client_id": {
                        "type": "string",
                        "format": "uuid",
                        "description": "Made by the client once per submission: a retry sends the same.",
                    },
                    "data": {"type": "object", "description": "The values by field key (GET /forms/{slug})."},
                    "source": {"type": "string", "enum": ["api", "web", "offline"], "default": "api"},
                    "client_created_at": {"type": "string", "format": "date-time"},
                    "qr": {"type": "string", "description": "The QR place code the form was opened at."},
                },
            }
        }
    },
}


@router.post(
    "/forms/{slug}/submissions",
    url_name="submission_create",
    summary="Submit a filled form",
    openapi_extra={
        "requestBody": SUBMISSION_BODY,
        "responses": {code: {"description": text} for code, text in SUBMISSION_ANSWERS.items()},
    },
)
def submission_post(request, slug: str):
    """The Django way in; ``ingest.py`` serves the same steps faster on PostgreSQL."""
    with translation.override(language_of(request.headers.get("Accept-Language", ""))):
        return reply_response(submission_take(request, slug))


def submission_take(request, slug: str) -> Reply:
    if refusal := size_refusal(request.headers.get("Content-Length")):
        return refusal
    user, token = caller(request)
    form, version = form_for_caller(slug=slug, user=user)
    if refusal := form_refusal(form, version):
        return refusal
    if form.is_public and (retry_after := rate_limit_hit(client_ip(request), scope="public-submit")):
        return rate_limited_reply(retry_after)
    body, refusal = parse_body(request.body)
    if refusal:
        return refusal
    if form.is_public and (retry_after := place_rate_limit_hit(qr_code_of(body), user=user)):
        return place_limited_reply(retry_after)
    result = validator_for(form, version, user=user).validate(body["data"])
    qr_place = place_in_use(qr_code_of(body))
    if qr_code_of(body) and qr_place is None:
        unknown_qr_error(result.errors)
    if result.errors:
        return errors_reply(result.errors)
    submission = submission_prepare(
        form=form, version=version, body=body, result=result, qr_place=qr_place, user=user, token=token
    )
    return outcome_reply(submission_create(submission))


class SubmissionOut(Schema):
    id: int
    client_id: uuid.UUID
    form: str
    version: int
    status: str
    source: str
    area: str | None
    place: str | None
    created_at: datetime
    data: dict
    reason: str  # why it was rejected, as the approver wrote it

    @staticmethod
    def resolve_reason(obj):
        return obj.status_reason

    @staticmethod
    def resolve_form(obj):
        return obj.form.slug

    @staticmethod
    def resolve_version(obj):
        return obj.version.number

    @staticmethod
    def resolve_area(obj):
        return obj.area.code if obj.area else None

    @staticmethod
    def resolve_place(obj):
        return obj.place.code if obj.place else None


# A page of the submissions listing; the offset stays within what a database can count.
PAGE_MAX = 1000
OFFSET_MAX = 2**31 - 1


class SubmissionFilters(Schema):
    form: str | None = None
    status: str | None = None
    area: str | None = None
    date_from: date | None = None
    date_to: date | None = None


class BoundedPagination(LimitOffsetPagination):
    """ninja's limit and offset, bounded: an offset past PostgreSQL's bigint was a 500."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=PAGE_MAX)
        offset: int = Field(0, ge=0, le=OFFSET_MAX)


@router.get("/submissions", response=list[SubmissionOut], summary="Submissions in the caller's area")
@paginate(BoundedPagination)
def submission_list(request, filters: Query[SubmissionFilters]):
    user, _token = caller(request)
    queryset = scope_queryset(Submission.objects.all(), user=user).select_related(
        "form", "version", "area", "place"
    )
    if filters.form:
        queryset = queryset.filter(form__slug=filters.form)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.area:
        # An area outside the caller's answers 404, as the dashboard's does: its existence is not told.
        area = get_object_or_404(areas_visible_to(user=user), code=filters.area)
        queryset = queryset.filter(area__path__startswith=area.path)
    if filters.date_from:
        queryset = queryset.filter(created_at__date__gte=filters.date_from)
    if filters.date_to:
        queryset = queryset.filter(created_at__date__lte=filters.date_to)
    return queryset.order_by("-created_at")


class DecisionOut(Schema):
    id: int
    client_id: uuid.UUID
    status: str
    reason: str


@router.get(
    "/submissions/mine",
    response=list[DecisionOut],
    summary="Where the caller's own submissions stand (in review, accepted, rejected and why)",
)
def submission_decisions(request, client_id: Query[list[uuid.UUID]]):
    """The phone's outbox asks after the submissions it sent for review, by their client_ids;
    only the caller's own are answered, wherever their area."""
    user, _token = caller(request)
    if not user.is_authenticated:
        return []
    mine = Submission.objects.filter(submitted_by=user, client_id__in=client_id[:200])
    return [
        {"id": s.pk, "client_id": s.client_id, "status": s.status, "reason": s.status_reason}
        for s in mine.only("pk", "client_id", "status", "status_reason")
    ]


# --- uploads -----------------------------------------------------------------------------


@router.post("/uploads", summary="Send a photo or file for a form field; returns its id")
def upload_post(request, file: File[UploadedFile]):
    limit = settings.UPLOAD_MAX_MB * 1024 * 1024
    if int(request.headers.get("Content-Length") or 0) > limit + 64 * 1024:
        return error_response(413, str(TOO_LARGE % {"mb": settings.UPLOAD_MAX_MB}))
    user, _token = caller(request)
    if not user.is_authenticated and (
        retry_after := rate_limit_hit(client_ip(request), scope="public-upload")
    ):
        response = error_response(429, _("Too many uploads; try again shortly."))
        response["Retry-After"] = str(retry_after)
        return response
    upload, problem = upload_store(file=file, user=user)
    if problem:
        return json_response({"errors": {"file": [problem]}}, 400)
    return json_response(
        {"upload": str(upload.pk), "content_type": upload.content_type, "size": upload.size}, 201
    )


# --- areas and places for pickers ---------------------------------------------------------


class AreaOut(Schema):
    code: str
    name: str
    level_label: str
    has_children: bool


@router.get("/areas", response=list[AreaOut], summary="The areas under one area (cascading pickers)")
def area_children(request, parent: str):
    area = get_object_or_404(Area, code=parent)
    children = Area.objects.filter(depth=area.depth + 1, path__startswith=area.path).order_by("name")
    user, _token = caller(request)
    scope = area_scope(user=user)
    if isinstance(scope, Area):
        # Staff see their own area and the way down to it; nothing beside it.
        on_the_way = ancestor_paths(scope.path)
        children = children.filter(Q(path__startswith=scope.path) | Q(path__in=on_the_way))
    return [
        {"code": a.code, "name": a.name, "level_label": a.level_label, "has_children": a.numchild > 0}
        for a in children
    ]


class PlaceOut(Schema):
    code: str
    name: str
    kind: str


@router.get("/places", response=list[PlaceOut], summary="Places in use, by kind and area")
def place_list(request, kinds: str = "", area: str = ""):
    queryset = Place.objects.filter(is_active=True).order_by("name")
    if kinds:
        queryset = queryset.filter(kind__in=kinds.split(","))
    if area:
        root = get_object_or_404(Area, code=area)
        queryset = queryset.filter(area__path__startswith=root.path)
    return list(queryset.values("code", "name", "kind")[:500])
