"""Reads of forms and their versions, limited to what the caller may use."""

import time

from django.db.models import OuterRef, Subquery

from places.models import Area
from places.selectors import area_scope

from .models import FormPage, FormVersion


def _with_latest_version(queryset):
    latest = FormVersion.objects.filter(form=OuterRef("pk")).order_by("-number")
    return queryset.annotate(latest_version_id=Subquery(latest.values("pk")[:1])).exclude(
        latest_version_id=None
    )


def may_use_staff_form(form: FormPage, *, user) -> bool:
    """Staff forms: logged-in users whose area overlaps the form's (either contains the other)."""
    scope = area_scope(user=user)
    if scope is True:
        return True
    if not isinstance(scope, Area):
        return False
    return scope.contains(form.area) or form.area.contains(scope)


def forms_visible_to(*, user) -> list[tuple[FormPage, FormVersion]]:
    """Live forms with a published version that ``user`` may fill: (form, latest version)."""
    forms = _with_latest_version(FormPage.objects.live().select_related("area")).order_by("title")
    usable = [f for f in forms if f.is_public or may_use_staff_form(f, user=user)]
    versions = FormVersion.objects.in_bulk([f.latest_version_id for f in usable])
    return [(f, versions[f.latest_version_id]) for f in usable]


# Every submission needs its form and version: keep them a few seconds per process. A
# submission arriving just after a publication is then checked against, and recorded with,
# the version before it, which stays consistent.
LIVE_FORM_SECONDS = 5
_live_forms: dict[str, tuple[float, FormPage | None, FormVersion | None]] = {}


def live_form(slug: str) -> tuple[FormPage | None, FormVersion | None]:
    now = time.monotonic()
    cached = _live_forms.get(slug)
    if cached and now - cached[0] < LIVE_FORM_SECONDS:
        return cached[1], cached[2]
    form = FormPage.objects.live().select_related("area").filter(slug=slug).first()
    version = form.current_version if form else None
    _live_forms[slug] = (now, form, version)
    return form, version


def live_form_forget(slug: str | None = None) -> None:
    """Drop this process's cached form (all of them without a slug), e.g. on publication."""
    if slug is None:
        _live_forms.clear()
    else:
        _live_forms.pop(slug, None)


def live_form_cached(slug: str) -> tuple[bool, FormPage | None, FormVersion | None]:
    """(found, form, version) from this process's cache only: never a query (async callers)."""
    cached = _live_forms.get(slug)
    if cached and time.monotonic() - cached[0] < LIVE_FORM_SECONDS:
        return True, cached[1], cached[2]
    return False, None, None


def form_access(form: FormPage | None, version: FormVersion | None, *, user) -> tuple:
    """(form, version) as the caller may use them: version None means "log in first"; for a
    logged-in user outside the form's area, (None, None): the form answers 404 as if absent."""
    if form is None or version is None:
        return None, None
    if form.is_public or may_use_staff_form(form, user=user):
        return form, version
    if getattr(user, "is_authenticated", False):
        return None, None
    return form, None


def form_for_caller(*, slug: str, user) -> tuple[FormPage | None, FormVersion | None]:
    """(form, version) by slug; version None when the caller may not use the form (login first)."""
    form, version = live_form(slug)
    return form_access(form, version, user=user)
