"""The Wagtail admin's home, per role: each user sees the panels their work needs.

- approvers: how many reviews wait for them, per form, and since when;
- area IT teams (and province admins): today's data entry in each area under theirs;
- leaders (and province admins): links to the live map and dashboard pages.

Superusers see all three. The numbers are read within the user's area scope, as everywhere.
"""

from dataclasses import dataclass
from datetime import datetime, time
from urllib.parse import urlencode

from django.contrib.contenttypes.models import ContentType
from django.db.models import BigIntegerField, Count, Max, Min, OuterRef, Q, Subquery
from django.db.models.functions import Cast, Substr
from django.urls import reverse
from django.utils import timezone
from wagtail.admin.ui.components import Component
from wagtail.models import Page, TaskState

from forms_engine.models import FormPage, Submission
from places.models import Area, GroupRole
from places.selectors import scope_roots
from workflows.tasks import submission_in_scope

from .models import DashboardPage, MapPage, PublicMapPage


def user_roles(user) -> set[str]:
    """The product roles (``GroupRole.ROLE_*``) of the user's groups, in one query."""
    if not user.is_active:
        return set()
    return set(user.groups.filter(product_role__isnull=False).values_list("product_role__role", flat=True))


class RoleHomePanel(Component):
    """A home panel for some roles; superusers see every one."""

    roles: tuple[str, ...] = ()

    @classmethod
    def is_for(cls, user, roles: set[str]) -> bool:
        return user.is_superuser or bool(roles.intersection(cls.roles))


# --- approvers: the inbox in numbers ----------------------------------------------------------


@dataclass
class InboxRow:
    label: str
    waiting: int
    oldest: datetime
    url: str | None


class InboxCountsPanel(RoleHomePanel):
    """How many reviews wait for this user, per form: Wagtail's "Awaiting your review" lists
    them one by one, which does not tell a reviewer with hundreds where to start."""

    name = "inbox_counts"
    template_name = "website/home/inbox_counts.html"
    order = 205  # above the overdue reviews (215) and Wagtail's own list (220)
    roles = (GroupRole.ROLE_APPROVER,)

    def get_context_data(self, parent_context):
        rows = inbox_counts(user=parent_context["request"].user)
        return {"rows": rows, "total": sum(row.waiting for row in rows)}


def inbox_counts(*, user) -> list[InboxRow]:
    """The task states the user may act on now, counted per form, the longest waiting first."""
    # In the user's area only, whatever the task type (a stock group approval knows no areas).
    states = TaskState.objects.reviewable_by(user).filter(submission_in_scope(user))
    submission_type = ContentType.objects.get_for_model(Submission)
    form_of_state = Submission.objects.filter(
        pk=Cast(OuterRef("workflow_state__object_id"), BigIntegerField())
    ).values("form_id")[:1]
    grouped = (
        states.filter(workflow_state__base_content_type=submission_type)
        .annotate(form_id=Subquery(form_of_state))
        .values("form_id")
        .annotate(waiting=Count("pk"), oldest=Min("started_at"))
        .order_by("oldest")
    )
    forms = FormPage.objects.in_bulk([group["form_id"] for group in grouped])
    return [inbox_row(group, forms.get(group["form_id"])) for group in grouped]


def inbox_row(group: dict, form: FormPage | None) -> InboxRow:
    url = None
    if form is not None:
        query = urlencode({"form": form.pk, "status": Submission.STATUS_IN_REVIEW})
        url = f"{reverse('submissions:list')}?{query}"
    label = form.title if form is not None else "—"
    return InboxRow(label=label, waiting=group["waiting"], oldest=group["oldest"], url=url)


# --- area IT teams: today's data entry -----------------------------------------------------------


@dataclass
class DataEntryRow:
    area: Area
    received: int
    in_review: int
    rejected: int
    last_at: datetime | None
    url: str


class DataEntryPanel(RoleHomePanel):
    """Today's submissions in each area one level below the user's own (the communes of a
    district): the team sees at a glance where entry lags behind."""

    name = "data_entry_today"
    template_name = "website/home/data_entry.html"
    order = 230
    roles = (GroupRole.ROLE_AREA_IT_TEAM, GroupRole.ROLE_PROVINCE_ADMIN)

    def get_context_data(self, parent_context):
        return {"tables": data_entry_today(user=parent_context["request"].user)}


def data_entry_today(*, user) -> list[dict]:
    """Per top area of the scope: a row per child area (the area itself when it has none)
    and the total, counting submissions received since local midnight."""
    today = timezone.localdate()
    since = timezone.make_aware(datetime.combine(today, time.min))
    return [data_entry_table(root, since=since, day=today) for root in scope_roots(user=user)]


def data_entry_table(root: Area, *, since: datetime, day) -> dict:
    children = list(root.get_children()) or [root]
    branch_length = children[0].depth * Area.steplen
    counts = {
        row["branch"]: row
        for row in Submission.objects.filter(created_at__gte=since, area__path__startswith=root.path)
        .annotate(branch=Substr("area__path", 1, branch_length))
        .values("branch")
        .annotate(**_entry_counts())
    }
    rows = [data_entry_row(child, counts.get(child.path, {}), day=day) for child in children]
    total = Submission.objects.filter(created_at__gte=since, area__path__startswith=root.path)
    return {"root": data_entry_row(root, total.aggregate(**_entry_counts()), day=day), "rows": rows}


def _entry_counts() -> dict:
    return {
        "received": Count("pk"),
        "in_review": Count("pk", filter=Q(status=Submission.STATUS_IN_REVIEW)),
        "rejected": Count("pk", filter=Q(status=Submission.STATUS_REJECTED)),
        "last_at": Max("created_at"),
    }


def data_entry_row(area: Area, counts: dict, *, day) -> DataEntryRow:
    query = urlencode(
        {"area": area.pk, "created_at_after": day.isoformat(), "created_at_before": day.isoformat()}
    )
    return DataEntryRow(
        area=area,
        received=counts.get("received") or 0,
        in_review=counts.get("in_review") or 0,
        rejected=counts.get("rejected") or 0,
        last_at=counts.get("last_at"),
        url=f"{reverse('submissions:list')}?{query}",
    )


# --- leaders: the live pages ----------------------------------------------------------------------


class LivePagesPanel(RoleHomePanel):
    """Leaders come to the admin to reach the map and the dashboard: put them first."""

    name = "live_pages"
    template_name = "website/home/live_pages.html"
    order = 50  # before everything else on the page
    roles = (GroupRole.ROLE_LEADER, GroupRole.ROLE_PROVINCE_ADMIN)

    def get_context_data(self, parent_context):
        request = parent_context["request"]
        return {"links": live_page_links(request=request)}


LIVE_PAGE_TYPES = (DashboardPage, MapPage, PublicMapPage)


def live_page_links(*, request) -> list[dict]:
    """Published dashboards, then maps, then public maps, each with its kind's name."""
    pages = Page.objects.live().type(*LIVE_PAGE_TYPES).specific().order_by("path")
    order = {page_type: position for position, page_type in enumerate(LIVE_PAGE_TYPES)}
    pages = sorted(pages, key=lambda page: order.get(type(page), len(order)))
    return [
        {"title": page.title, "kind": type(page)._meta.verbose_name, "url": page.get_url(request=request)}
        for page in pages
    ]


ROLE_PANELS = (LivePagesPanel, InboxCountsPanel, DataEntryPanel)


def role_panels(user) -> list[Component]:
    """The panels for the user's roles (a user may hold several)."""
    roles = user_roles(user)
    return [panel() for panel in ROLE_PANELS if panel.is_for(user, roles)]
