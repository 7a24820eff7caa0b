"""Reads of areas and places. Every query of personal data goes through ``area_scope``."""

from django.db.models import Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Length, Substr

from .folding import fold
from .models import Area, Place, UserArea


def user_area(*, user) -> Area | None:
    """The area the user works in, or None. Cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "_cached_user_area"):
        scope = UserArea.objects.select_related("area").filter(user_id=user.pk).first()
        user._cached_user_area = scope.area if scope else None
    return user._cached_user_area


def area_scope(*, user) -> Area | bool | None:
    """Which part of the tree the user may see.

    Returns True for everything (superusers), an Area for that area's subtree, or None for
    nothing: deny by default, so a user without an area sees no one's data.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return True
    return user_area(user=user)


def scope_queryset(queryset: QuerySet, *, user, area_field: str = "area") -> QuerySet:
    """``queryset`` narrowed to rows whose ``area_field`` lies in the user's scope.

    ``area_field`` is the lookup path to an Area foreign key (``"area"``,
    ``"person__home_area"``); pass ``""`` when the queryset is of areas themselves.
    """
    scope = area_scope(user=user)
    if scope is True:
        return queryset
    if scope is None:
        return queryset.none()
    prefix = f"{area_field}__" if area_field else ""
    return queryset.filter(**{f"{prefix}path__startswith": scope.path})


def areas_visible_to(*, user) -> QuerySet[Area]:
    """The one answer to "which areas may this user see"."""
    return scope_queryset(Area.objects.all(), user=user, area_field="")


def scope_roots(*, user) -> list[Area]:
    """The top areas of the user's scope: their own area, every top area for a superuser, none
    for a user without one (where live pages and panels start)."""
    scope = area_scope(user=user)
    if scope is True:
        return list(Area.get_root_nodes())
    return [scope] if scope else []


def is_in_scope(obj: Model, *, user, area_field: str = "area") -> bool:
    """Whether one object lies in the user's scope (a single indexed query)."""
    queryset = type(obj)._default_manager.filter(pk=obj.pk)
    return scope_queryset(queryset, user=user, area_field=area_field).exists()


def place_in_use(code) -> Place | None:
    """The active place whose short code (as printed in its QR code) is ``code``, any case."""
    code = str(code or "").strip().upper()[:20]
    if not code:
        return None
    return Place.objects.select_related("area").filter(code=code, is_active=True).first()


def ancestor_paths(path: str, *, include_self: bool = False) -> list[str]:
    """The materialised paths of the areas above ``path``, from the top down (and its own)."""
    end = len(path) + 1 if include_self else len(path)
    return [path[:stop] for stop in range(Area.steplen, end, Area.steplen)]


def area_ancestors(*, area: Area, include_self: bool = False) -> QuerySet[Area]:
    """The chain from the top of the tree down to ``area``, computed from its path."""
    paths = ancestor_paths(area.path, include_self=include_self)
    return Area.objects.filter(path__in=paths).order_by("depth")


def area_points(areas) -> dict[int, tuple[float, float]]:
    """{area id: (lat, lng)}: the area's own centroid, else its nearest ancestor's that has one
    (a village without a point shows at its commune): where a map puts what has no point of
    its own. One query."""
    areas = list({area.pk: area for area in areas}.values())
    wanted = {p for area in areas for p in ancestor_paths(area.path, include_self=True)}
    located = {
        path: location
        for path, location in Area.objects.filter(path__in=wanted)
        .exclude(location="")
        .values_list("path", "location")
    }
    points = {}
    for area in areas:
        for path in reversed(ancestor_paths(area.path, include_self=True)):
            if path in located:
                point = Area(location=located[path])
                points[area.pk] = (point.latitude, point.longitude)
                break
    return points


def area_search(queryset: QuerySet[Area], *, query: str) -> QuerySet[Area]:
    """Accent-insensitive search by name, or exact match on the official code."""
    folded = fold(query)
    if not folded:
        return queryset
    return queryset.filter(Q(name_folded__contains=folded) | Q(code=query.strip()))


def place_search(queryset: QuerySet[Place], *, query: str) -> QuerySet[Place]:
    """Accent-insensitive search by name, or by short code."""
    folded = fold(query)
    if not folded:
        return queryset
    return queryset.filter(Q(name_folded__contains=folded) | Q(code__iexact=query.strip()))


def with_parent_name(queryset: QuerySet[Area]) -> QuerySet[Area]:
    """Annotate ``parent_name`` in the same query (a parent's path is the child's minus a step)."""
    parent_path = Substr(OuterRef("path"), 1, Length(OuterRef("path")) - Area.steplen)
    parents = Area.objects.filter(path=parent_path).values("name")[:1]
    return queryset.annotate(parent_name=Subquery(parents))
