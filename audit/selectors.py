"""Which access records a user may read: superusers all; a holder of audit.view_accessrecord
(the province admin) those of users whose area lies in their own; anyone else none."""

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from places.selectors import area_scope

from .models import AccessRecord

VIEW_PERMISSION = "audit.view_accessrecord"


def _user_scope(user):
    """True (everyone), an Area (users of that subtree), or None (no one)."""
    if not user.has_perm(VIEW_PERMISSION):
        return None
    return area_scope(user=user)


def records_visible_to(user) -> QuerySet[AccessRecord]:
    scope = _user_scope(user)
    records = AccessRecord.objects.all()
    if scope is True:
        return records
    if scope is None:
        return records.none()
    return records.filter(user__area_scope__area__path__startswith=scope.path)


def users_visible_to(user) -> QuerySet:
    """The users whose records ``user`` reads (the listing's filter by user)."""
    scope = _user_scope(user)
    users = get_user_model().objects.order_by("username")
    if scope is True:
        return users
    if scope is None:
        return users.none()
    return users.filter(area_scope__area__path__startswith=scope.path)


def record_search(queryset: QuerySet[AccessRecord], *, query: str) -> QuerySet[AccessRecord]:
    """By object ID (a person's, a submission's, a path) or username, any case."""
    text = query.strip()
    if not text:
        return queryset
    return queryset.filter(Q(object_id__icontains=text) | Q(username__icontains=text))
