"""Live notices of new alerts to the tracing team of each alert's area.

The team of an area is every active user whose own area (places.models.UserArea) contains it
and who may see alerts. A notice carries no personal data: the number of new alerts and their
ids, which the page reads back through the scoped admin and API. Notices go out after the
transaction commits (a rolled-back job told no one), and a channel layer that is down loses
the notice, never the alerts: they wait in the alerts queue.
"""

from collections import defaultdict
from collections.abc import Iterable
from functools import partial

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from places.models import Area, UserArea
from places.selectors import ancestor_paths
from realtime.publish import publish_to_user

ALERT_PERMISSION = "tracing.view_alert"


def permission_holders(permission: str) -> Q:
    """Users (as UserArea rows) holding ``permission`` through a group or directly; superusers
    hold every permission, as Django's backends say."""
    app_label, codename = permission.split(".", 1)
    permission_id = (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .values_list("pk", flat=True)
        .first()
    )
    if permission_id is None:
        return Q(user__is_superuser=True)
    user_permissions = get_user_model().user_permissions.through
    through_group = Group.permissions.through.objects.filter(
        permission_id=permission_id, group__user=OuterRef("user_id")
    )
    direct = user_permissions.objects.filter(permission_id=permission_id, user_id=OuterRef("user_id"))
    return Q(user__is_superuser=True) | Q(Exists(through_group)) | Q(Exists(direct))


def area_teams(area_ids: Iterable[int], *, permission: str = ALERT_PERMISSION) -> dict[int, set[int]]:
    """{area id: ids of the active users whose area contains it and who hold ``permission``}.

    Two queries whatever the number of areas: their paths, then the users whose area is one
    of those areas or above them. A user without an area (a superuser included) is told of
    nothing, as they are shown nothing (deny by default).
    """
    paths = dict(Area.objects.filter(pk__in=set(area_ids)).values_list("pk", "path"))
    if not paths:
        return {}
    wanted = {prefix for path in paths.values() for prefix in ancestor_paths(path, include_self=True)}
    scopes = (
        UserArea.objects.filter(permission_holders(permission), area__path__in=wanted, user__is_active=True)
        .values_list("user_id", "area__path")
        .distinct()
    )
    users_by_path = defaultdict(set)
    for user_id, path in scopes:
        users_by_path[path].add(user_id)
    return {
        area_id: {
            user
            for prefix in ancestor_paths(path, include_self=True)
            for user in users_by_path.get(prefix, ())
        }
        for area_id, path in paths.items()
    }


def alerts_notices(alerts: Iterable[tuple[int, int | None]], *, event_type: str) -> dict[int, dict]:
    """{user id: notice} for new alerts given as (alert id, area id): each user hears once,
    of the alerts of their areas only."""
    alerts = list(alerts)
    teams = area_teams({area for _, area in alerts if area is not None})
    alert_ids_by_user = defaultdict(list)
    for alert_id, area_id in alerts:
        for user_id in teams.get(area_id, ()):
            alert_ids_by_user[user_id].append(alert_id)
    return {
        user_id: {"type": event_type, "count": len(ids), "alerts": sorted(ids)}
        for user_id, ids in alert_ids_by_user.items()
    }


def alerts_publish_on_commit(alerts: Iterable[tuple[int, int | None]], *, event_type: str) -> set[int]:
    """Tell each area's team of its new alerts once the transaction commits; the users told."""
    notices = alerts_notices(alerts, event_type=event_type)
    if notices:
        transaction.on_commit(partial(notices_publish, notices), robust=True)
    return set(notices)


def notices_publish(notices: dict[int, dict]) -> None:
    for user_id, notice in notices.items():
        publish_to_user(user_id, notice)
