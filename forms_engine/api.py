"""/api/v1/ endpoints for forms and submissions (the contract is in DESIGN.md and docs/forms.md).

Callers authenticate with ``Authorization: Bearer <token>`` (Wagtail API tokens issued in
the admin) or with their site session plus the CSRF header. Public forms take anonymous
submissions, rate-limited per IP.
"""

import json
import uuid
from datetime import date, datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate
from wagtail.api.v3.auth import BearerTokenAuth

from places.models import Area, Place
from places.selectors import area_scope, place_in_use, scope_queryset

from .models import Submission
from .ratelimit import rate_limit_hit
from .schema import form_document
from .selectors import form_for_caller, forms_visible_to
from .services import derive_area_and_place, submission_create
from .uploads import TOO_LARGE, upload_store
from .validation import SubmissionValidator

router = Router(tags=["forms"])


def caller(request: HttpRequest):
    """(user, token) from a bearer token, else from a session that passes the CSRF check.

    A session without a valid CSRF token counts as anonymous: a cookie alone never acts.
    """
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        token = BearerTokenAuth().authenticate(request, header[7:].strip())
        return (token.user, token) if token else (AnonymousUser(), None)
    user = getattr(request, "user", AnonymousUser())
    unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
    if user.is_authenticated and unsafe and not csrf_passes(request):
        return AnonymousUser(), None
    return user, None


def csrf_passes(request) -> bool:
    return CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {}) is None


def language_of(request: HttpRequest) -> str:
    """Vietnamese unless the caller asks for English (Accept-Language)."""
    accepted = request.headers.get("Accept-Language", "").lower()
    return "en" if accepted.startswith("en") else settings.LANGUAGE_CODE


def json_response(payload: dict, status: int) -> JsonResponse:
    """JSON with Vietnamese letters as they are, not \\u escapes."""
    return JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})


def error_response(status: int, detail: str, **extra) -> JsonResponse:
    return json_response({"detail": detail, **extra}, status)


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


@router.post("/forms/{slug}/submissions", url_name="submission_create", summary="Submit a filled form")
def submission_post(request, slug: str):
    with translation.override(language_of(request)):
        return _submission_post(request, slug)


def _submission_post(request, slug: str):
    if int(request.headers.get("Content-Length") or 0) > settings.SUBMISSION_MAX_BYTES:
        return error_response(413, _("The submission is too large."))
    user, token = caller(request)
    form, version = form_for_caller(slug=slug, user=user)
    if form is None:
        return error_response(404, _("No such form."))
    if version is None:
        return error_response(401, _("Log in to use this form."))
    if form.is_public and (retry_after := rate_limit_hit(request, scope="public-submit")):
        response = error_response(429, _("Too many submissions; try again shortly."))
        response["Retry-After"] = str(retry_after)
        return response
    body, problem = parse_body(request)
    if problem:
        return json_response({"errors": problem}, 400)
    scope = area_scope(user=user)
    validator = SubmissionValidator(
        version.schema,
        form_area=form.area,
        scope_area=scope if isinstance(scope, Area) and not form.is_public else None,
    )
    result = validator.validate(body["data"])
    qr_place = place_in_use(body.get("qr"))
    if body.get("qr") and qr_place is None:
        result.errors.setdefault("qr", []).append(_("This QR code is not known."))
    if result.errors:
        return json_response({"errors": result.errors}, 400)
    area, place = derive_area_and_place(version=version, result=result, qr_place=qr_place, user=user)
    outcome = submission_create(
        version=version,
        client_id=body["client_id"],
        raw_data=body["data"],
        cleaned_data=result.cleaned,
        area=area,
        place=place,
        user=user,
        token=token,
        source=body["source"],
        client_created_at=body.get("client_created_at"),
    )
    submission = outcome.submission
    payload = {"id": submission.pk, "client_id": str(submission.client_id), "status": submission.status}
    if not outcome.same_data:
        return json_response({**payload, "detail": _("This client_id was already used for other data.")}, 409)
    return json_response(payload, 201 if outcome.created else 200)


SOURCES_FROM_CLIENTS = {Submission.SOURCE_WEB, Submission.SOURCE_OFFLINE, Submission.SOURCE_API}


def parse_body(request) -> tuple[dict, dict | None]:
    """The JSON body checked for shape; errors keyed like field errors."""
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return {}, {"__all__": [_("The request body is not valid JSON.")]}
    if not isinstance(body, dict):
        return {}, {"__all__": [_("The request body must be a JSON object.")]}
    errors = {}
    try:
        body["client_id"] = uuid.UUID(str(body.get("client_id")))
    except ValueError:
        errors["client_id"] = [_("Send a client_id in UUID form.")]
    if "data" not in body:
        errors["data"] = [_("Send the field values in “data”.")]
    source = body.get("source") or Submission.SOURCE_API
    if source not in SOURCES_FROM_CLIENTS:
        errors["source"] = [_("Unknown source.")]
    body["source"] = source
    body["client_created_at"] = parse_client_time(body.get("client_created_at"), errors)
    return body, errors or None


def parse_client_time(value, errors) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        errors["client_created_at"] = [_("Send the time in ISO 8601 form.")]
        return None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


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


class SubmissionFilters(Schema):
    form: str | None = None
    status: str | None = None
    area: str | None = None
    date_from: date | None = None
    date_to: date | None = None


@router.get("/submissions", response=list[SubmissionOut], summary="Submissions in the caller's area")
@paginate(LimitOffsetPagination)
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
        area = get_object_or_404(Area, code=filters.area)
        queryset = queryset.filter(area__path__startswith=area.path)
    if filters.date_from:
        queryset = queryset.filter(created_at__date__gte=filters.date_from)
    if filters.date_to:
        queryset = queryset.filter(created_at__date__lte=filters.date_to)
    return queryset.order_by("-created_at")


# --- uploads -----------------------------------------------------------------------------


@router.post("/uploads", summary="Send a photo or file for a form field; returns its id")
def upload_post(request, file: File[UploadedFile]):
    limit = settings.UPLOAD_MAX_MB * 1024 * 1024
    if int(request.headers.get("Content-Length") or 0) > limit + 64 * 1024:
        return error_response(413, str(TOO_LARGE % {"mb": settings.UPLOAD_MAX_MB}))
    user, _token = caller(request)
    if not user.is_authenticated and (retry_after := rate_limit_hit(request, scope="public-upload")):
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
        on_the_way = [scope.path[:end] for end in range(Area.steplen, len(scope.path), Area.steplen)]
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
