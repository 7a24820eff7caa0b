"""The product's roles as permission groups, created idempotently.

Each role is a Django group tied to a role code by ``GroupRole``; admins may rename the
groups and grant more, and ``roles_ensure`` only ever adds what a role needs.
Later issues extend ``ROLE_PERMISSIONS`` as their models arrive.
"""

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q, QuerySet
from wagtail.models import GroupPagePermission, Page

from .models import GroupRole


@dataclass(frozen=True)
class RoleSpec:
    code: str
    group_name: str
    permissions: tuple[str, ...]  # "app_label.codename"


ADMIN_ACCESS = "wagtailadmin.access_admin"
_AREA_DATA = ("places.view_area", "places.add_area", "places.change_area")
_PLACE_DATA = ("places.view_place", "places.add_place", "places.change_place")
_USERS = ("auth.add_user", "auth.change_user", "auth.view_user")
_SUBMISSIONS = ("forms_engine.view_submission",)
# Bulk imports (forms_engine/imports.py): each kind also needs the rights on its rows.
_IMPORTS = ("forms_engine.add_importjob", "forms_engine.view_importjob")
# Tracing (issue 5): persons and alerts are seen within the user's area (tracing/selectors.py).
_TRACING_VIEW = ("tracing.view_person", "tracing.view_alert")
_TRACING_ALL = (
    *_TRACING_VIEW,
    "tracing.change_person",
    "tracing.change_alert",
    "tracing.view_duplicatecandidate",
    "tracing.change_duplicatecandidate",
    "tracing.view_personmerge",
    "tracing.add_personmerge",
    "tracing.view_quarantineorder",
    "tracing.view_cluster",
    "tracing.view_quarantinerule",
    "tracing.add_quarantinerule",
    "tracing.change_quarantinerule",
    "tracing.delete_quarantinerule",
)

# The daily situation report (reports/views.py): leaders and province admins see and ask for it.
_SITUATION_REPORTS = ("reports.view_situationreport", "reports.add_situationreport")

ROLE_SPECS = (
    RoleSpec(
        GroupRole.ROLE_PROVINCE_ADMIN,
        "Quản trị tỉnh",
        (
            ADMIN_ACCESS,
            *_AREA_DATA,
            "places.delete_area",
            *_PLACE_DATA,
            "places.delete_place",
            *_USERS,
            "auth.delete_user",
            *_SUBMISSIONS,
            "forms_engine.change_submission",
            *_IMPORTS,
            "wagtailcore.add_workflow",
            "wagtailcore.change_workflow",
            "wagtailcore.add_task",
            "wagtailcore.change_task",
            *_TRACING_ALL,
            *_SITUATION_REPORTS,
            # The access log of users in their area (audit/views.py), read-only.
            "audit.view_accessrecord",
        ),
    ),
    RoleSpec(
        GroupRole.ROLE_AREA_IT_TEAM,
        "Tổ Công nghệ thông tin địa bàn",
        # Keeps its own villages and residential groups up to date, hence the area rights.
        (ADMIN_ACCESS, *_AREA_DATA, *_PLACE_DATA, *_USERS, *_SUBMISSIONS, *_IMPORTS),
    ),
    RoleSpec(GroupRole.ROLE_FIELD_STAFF, "Cán bộ thực địa", ("places.view_place", *_TRACING_VIEW)),
    RoleSpec(
        GroupRole.ROLE_APPROVER,
        "Người phê duyệt",
        # change: correct a submission under review (a new revision; the workflow publishes it).
        (
            ADMIN_ACCESS,
            "places.view_area",
            "places.view_place",
            *_SUBMISSIONS,
            "forms_engine.change_submission",
            *_TRACING_VIEW,
            "tracing.view_quarantineorder",
            "tracing.view_cluster",
        ),
    ),
    RoleSpec(
        GroupRole.ROLE_LEADER,
        "Lãnh đạo",
        (ADMIN_ACCESS, "places.view_area", "places.view_place", *_SUBMISSIONS, *_SITUATION_REPORTS),
    ),
    RoleSpec(GroupRole.ROLE_COMMUNICATIONS, "Truyền thông", (ADMIN_ACCESS,)),
)


# Page rights, granted on the root page (the whole tree): province admins design and publish
# forms (FormPage) and keep the site's pages (home, map, dashboard, guides). Communications
# staff get theirs on the guides' index only, with its review workflow (website/demo/guidance.py).
ROLE_PAGE_PERMISSIONS = {
    GroupRole.ROLE_PROVINCE_ADMIN: ("add", "change", "publish", "lock", "unlock"),
}


def _permissions(names: tuple[str, ...]) -> list[Permission]:
    query = Q()
    for name in names:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query))
    missing = set(names) - {f"{p.content_type.app_label}.{p.codename}" for p in found}
    if missing:
        raise LookupError(f"Unknown permissions for roles: {sorted(missing)}")
    return found


@transaction.atomic
def roles_ensure() -> dict[str, Group]:
    """Create each role's group if missing and grant its permissions; returns them by code."""
    groups = {}
    for spec in ROLE_SPECS:
        link = GroupRole.objects.select_related("group").filter(role=spec.code).first()
        if link is None:
            group, _ = Group.objects.get_or_create(name=spec.group_name)
            link = GroupRole.objects.create(role=spec.code, group=group)
        link.group.permissions.add(*_permissions(spec.permissions))
        _page_permissions_grant(link.group, ROLE_PAGE_PERMISSIONS.get(spec.code, ()))
        groups[spec.code] = link.group
    return groups


def _page_permissions_grant(group: Group, kinds: tuple[str, ...]) -> None:
    """``kinds`` of page rights on the root page, hence on every page (none before Wagtail's
    migrations made the root: the next ``roles_ensure`` grants them)."""
    root = Page.get_first_root_node() if kinds else None
    if root is None:
        return
    for permission in _permissions(tuple(f"wagtailcore.{kind}_page" for kind in kinds)):
        GroupPagePermission.objects.get_or_create(group=group, page=root, permission=permission)


def role_group(code: str) -> Group:
    """The group that plays ``code`` (one of ``GroupRole.ROLE_*``)."""
    return GroupRole.objects.select_related("group").get(role=code).group


def user_has_role(user, code: str) -> bool:
    return user.is_active and user.groups.filter(product_role__role=code).exists()


# Who may give which group to the users they manage (places/users.py). Whoever may give a
# group can log in as the user they gave it to (they set the password), so a role gives only
# roles at or below its own: an area IT team staffs its area with IT team members and field
# staff, never with approvers or province admins. Teams (groups without a role) are defined by
# superusers for workflows; a province admin staffs all of them, anyone else only the teams
# they are in themselves. Superusers give anything; nobody else makes superusers.
ROLE_GRANTS = {
    GroupRole.ROLE_PROVINCE_ADMIN: (
        GroupRole.ROLE_PROVINCE_ADMIN,
        GroupRole.ROLE_AREA_IT_TEAM,
        GroupRole.ROLE_FIELD_STAFF,
        GroupRole.ROLE_APPROVER,
        GroupRole.ROLE_LEADER,
        GroupRole.ROLE_COMMUNICATIONS,
    ),
    GroupRole.ROLE_AREA_IT_TEAM: (GroupRole.ROLE_AREA_IT_TEAM, GroupRole.ROLE_FIELD_STAFF),
}
ROLES_STAFFING_ALL_TEAMS = (GroupRole.ROLE_PROVINCE_ADMIN,)


def groups_grantable(*, user) -> QuerySet[Group]:
    """The groups ``user`` may give to (and take from) the users they manage."""
    if user.is_superuser:
        return Group.objects.all()
    own_roles = set(GroupRole.objects.filter(group__user=user).values_list("role", flat=True))
    roles = {granted for role in own_roles for granted in ROLE_GRANTS.get(role, ())}
    teams = Q(product_role__isnull=True) & (
        Q() if own_roles & set(ROLES_STAFFING_ALL_TEAMS) else Q(pk__in=user.groups.values("pk"))
    )
    return Group.objects.filter(Q(product_role__role__in=roles) | teams) if roles else Group.objects.none()
