"""The tracing admin: persons and their timeline and chain, alerts, possible duplicates,
quarantine orders with facility occupancy, clusters and quarantine rules.

Every listing and every object goes through tracing/selectors.py's scoped querysets: an object
outside the user's area answers 404, as if it did not exist. Actions are POSTs with CSRF,
each behind the permission it needs.
"""

import json

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from wagtail.admin.admin_url_finder import ModelAdminURLFinder
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.panels import FieldPanel, FieldRowPanel, ObjectList
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup

from audit.services import access_record
from forms_engine.exports import ListingExportMixin
from places.forms import AreaChoiceField
from places.models import Area, Place
from places.selectors import areas_visible_to

from . import classify, selectors
from .merge import MergeRefused, merge_undo, persons_merge
from .models import (
    LEVEL_CHOICES,
    LEVEL_CLEARED,
    LEVEL_DECEASED,
    LEVEL_RECOVERED,
    Alert,
    Cluster,
    DuplicateCandidate,
    Person,
    PersonMerge,
    QuarantineOrder,
    QuarantineRule,
    TestRequest,
)
from .person_export import person_data

# --- Shared pieces -------------------------------------------------------------------------


class ReadOnlyViewSet(ModelViewSet):
    """A listing and a detail page: these rows are written by the tracing jobs, not by hand."""

    inspect_view_enabled = True
    copy_view_enabled = False

    def get_common_view_kwargs(self, **kwargs):
        return super().get_common_view_kwargs(
            **{"add_url_name": None, "edit_url_name": None, "delete_url_name": None, **kwargs}
        )

    def get_urlpatterns(self):
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
        ]

    @property
    def url_finder_class(self):
        """Wagtail's links to one of these rows (e.g. in an area's "usage") go to its detail
        page: with no edit view, the default finder's link fails (a 500 on that page)."""
        inspect = self.get_url_name("inspect")
        return type("InspectURLFinder", (ModelAdminURLFinder,), {"edit_url_name": inspect})


class ScopedQuerysetMixin:
    """Rows from ``scoped(user)`` only, for listings and for single objects alike."""

    scoped = None  # a selector: user → queryset

    def scoped_queryset(self):
        return type(self).scoped(self.request.user)


class ScopedIndexView(ListingExportMixin, ScopedQuerysetMixin, generic.IndexView):
    def get_base_queryset(self):
        return self.scoped_queryset()


class ScopedInspectView(ScopedQuerysetMixin, generic.InspectView):
    def get_object(self, queryset=None):
        return get_object_or_404(self.scoped_queryset(), pk=self.pk)


class AreaSubtreeFilter(django_filters.ModelChoiceFilter):
    """An area of the user's scope, and everything under it."""

    field_class = AreaChoiceField

    def __init__(self, *args, area_field="area", **kwargs):
        self.area_field = area_field
        super().__init__(*args, **kwargs)

    def filter(self, queryset, area):
        return queryset.filter(**{f"{self.area_field}__path__startswith": area.path}) if area else queryset


class ScopedFilterSet(WagtailFilterSet):
    """Area choices limited to the user's own area."""

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        if request is not None and "area" in self.filters:
            self.filters["area"].queryset = areas_visible_to(user=request.user).order_by("path")


class PostActionColumn(Column):
    """A small POST form in a listing's cell (CSRF token included), e.g. "Resolve"; it comes
    back to the listing as filtered (``back_url_name``, not the AJAX results URL)."""

    cell_template_name = "tracing/admin/action_cell.html"

    def __init__(self, name, *, url_name, back_url_name, button, show=lambda instance: True, **kwargs):
        super().__init__(name, **kwargs)
        self.url_name, self.back_url_name, self.button, self.show = url_name, back_url_name, button, show

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        request = parent_context.get("request")
        context.update(
            action_url=reverse(self.url_name, args=[instance.pk]) if self.show(instance) else "",
            button=self.button,
            csrf_token_value=get_token(request) if request is not None else "",
            next_url=_with_query(reverse(self.back_url_name), request),
        )
        return context


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _with_query(url: str, request) -> str:
    query = request.GET.urlencode() if request is not None else ""
    return f"{url}?{query}" if query else url


def _back(request, fallback: str):
    """Where a POST action returns: its ``next`` when it is a URL of this site, else ``fallback``."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False)
    return redirect(target if target and safe else fallback)


# --- Persons -------------------------------------------------------------------------------

QUARANTINE_ACTIVE = "active"
QUARANTINE_NONE = "none"
EXPLICIT_LEVELS = [
    (LEVEL_CLEARED, gettext_lazy("Cleared")),
    (LEVEL_RECOVERED, gettext_lazy("Recovered")),
    (LEVEL_DECEASED, gettext_lazy("Deceased")),
]


class PersonFilterSet(ScopedFilterSet):
    level = django_filters.ChoiceFilter(choices=LEVEL_CHOICES, label=gettext_lazy("level"))
    area = AreaSubtreeFilter(queryset=Area.objects.none(), area_field="home_area", label=gettext_lazy("area"))
    quarantine = django_filters.ChoiceFilter(
        choices=[
            (QUARANTINE_ACTIVE, gettext_lazy("In quarantine")),
            (QUARANTINE_NONE, gettext_lazy("Not in quarantine")),
        ],
        label=gettext_lazy("quarantine"),
        method="filter_quarantine",
    )

    class Meta:
        model = Person
        fields = ["level", "area", "quarantine"]

    def filter_quarantine(self, queryset, name, value):
        if value == QUARANTINE_ACTIVE:
            return queryset.filter(in_quarantine=True)
        if value == QUARANTINE_NONE:
            return queryset.filter(in_quarantine=False)
        return queryset


class PersonIndexView(ScopedIndexView):
    scoped = staticmethod(selectors.persons_visible_to)
    default_ordering = "full_name"

    def get_base_queryset(self):
        return selectors.with_active_order(super().get_base_queryset().select_related("home_area"))

    def search_queryset(self, queryset):
        if not self.is_searching:
            return queryset
        return selectors.person_search(queryset, query=self.search_query)


class LevelForm(forms.Form):
    level = forms.ChoiceField(label=gettext_lazy("New level"), choices=EXPLICIT_LEVELS)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)


class PersonInspectView(ScopedInspectView):
    scoped = staticmethod(selectors.persons_visible_to)
    template_name = "tracing/admin/person_inspect.html"

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        # A person's page is personal data shown: audited (audit/services.py).
        person = self.object
        access_record(
            request=request, action="view", kind="person", object_id=person.pk, area=person.home_area_id
        )
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        person = self.object
        undoable = set(
            PersonMerge.objects.filter(kept=person, undoes__isnull=True, undone_by__isnull=True).values_list(
                "pk", flat=True
            )
        )
        context.update(
            timeline=selectors.person_timeline(person, user=user),
            chain=selectors.chain_drawing(person, user=user),
            undoable_merges=sorted(undoable) if user.has_perm("tracing.add_personmerge") else [],
            level_form=LevelForm() if user.has_perm("tracing.change_person") else None,
            level_url=reverse("persons:level", args=[person.pk]),
            in_quarantine=QuarantineOrder.objects.filter(
                person=person, status=QuarantineOrder.STATUS_ACTIVE
            ).exists(),
            **_certifiable(person, user=user),
        )
        return context


def _certifiable(person, *, user) -> dict:
    """What the person page offers certificates for (reports/certificate_views.py prints them):
    completed orders in the user's area, and test requests closed by a result."""
    orders = selectors.orders_visible_to(user).filter(person=person, status=QuarantineOrder.STATUS_COMPLETED)
    tests = TestRequest.objects.filter(
        person=person, status=TestRequest.STATUS_DONE, result_submission__isnull=False
    )
    return {
        "certificate_orders": orders.select_related("facility").order_by("start_date"),
        "certificate_tests": tests.order_by("closed_at"),
    }


@require_POST
def person_level(request, pk: int):
    """Staff set a level explicitly (clearance, recovered, deceased): classify.level_set."""
    _require(request, "tracing.change_person")
    person = get_object_or_404(selectors.persons_visible_to(request.user), pk=pk)
    form = LevelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the levels offered."))
        return redirect("persons:inspect", pk)
    try:
        with transaction.atomic():
            changed = classify.level_set(
                person, form.cleaned_data["level"], user=request.user, note=form.cleaned_data["note"]
            )
    except classify.LevelError as refusal:
        messages.error(request, " ".join(refusal.messages))
        return redirect("persons:inspect", pk)
    if changed is None:
        messages.info(request, _("The person already had that level."))
    else:
        messages.success(request, _("The level was changed."))
    return redirect("persons:inspect", pk)


@require_POST
def person_merge_undo(request, pk: int):
    """Undo one merge shown on the kept person's page."""
    _require(request, "tracing.add_personmerge")
    merge = get_object_or_404(PersonMerge, pk=pk)
    if not selectors.persons_in_scope(user=request.user).filter(pk=merge.kept_id).exists():
        raise Http404
    try:
        merge_undo(merge, user=request.user)
    except MergeRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("The merge was undone: the two persons are separate again."))
    return redirect("persons:inspect", merge.kept_id)


def person_export(request, pk: int):
    """Everything held about the person, as a JSON download, for their own request
    (tracing/person_export.py); recorded in the audit trail."""
    _require(request, "tracing.view_person")
    person = get_object_or_404(
        selectors.persons_visible_to(request.user).select_related("home_area", "workplace"), pk=pk
    )
    body = json.dumps(person_data(person), cls=DjangoJSONEncoder, ensure_ascii=False, indent=1)
    access_record(
        request=request,
        action="export",
        kind="person_data",
        object_id=person.pk,
        area=person.home_area,
        outcome="exported",
        detail="json",
    )
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="person-{person.pk}.json"'
    response["Cache-Control"] = "no-store"
    return response


def _quarantine_label(person) -> str:
    return _("In quarantine") if getattr(person, "in_quarantine", False) else "—"


class PersonViewSet(ReadOnlyViewSet):
    model = Person
    name = "persons"
    icon = "user"
    menu_label = gettext_lazy("Persons")
    index_view_class = PersonIndexView
    inspect_view_class = PersonInspectView
    filterset_class = PersonFilterSet
    search_fields = ["full_name"]  # enables the search box; PersonIndexView folds accents
    list_per_page = 50
    list_display = [
        "full_name",
        "birth_year",
        "level",
        "home_area",
        Column("in_quarantine", label=gettext_lazy("quarantine"), accessor=_quarantine_label),
    ]
    list_export = [
        "id",
        "full_name",
        "birth_date",
        "birth_year",
        "sex",
        "national_id",
        "phone",
        "home_area",
        "address",
        "level",
        "in_quarantine",
        "created_at",
    ]
    export_headings = {"in_quarantine": gettext_lazy("in quarantine")}
    export_filename = "persons"

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("level/<int:pk>/", person_level, name="level"),
            path("merge-undo/<int:pk>/", person_merge_undo, name="merge_undo"),
            path("export/<int:pk>/", person_export, name="export_data"),
        ]


# --- Alerts --------------------------------------------------------------------------------


class AlertFilterSet(ScopedFilterSet):
    kind = django_filters.ChoiceFilter(choices=Alert.KIND_CHOICES, label=gettext_lazy("kind"))
    area = AreaSubtreeFilter(queryset=Area.objects.none(), label=gettext_lazy("area"))
    resolved = django_filters.BooleanFilter(
        field_name="resolved_at", lookup_expr="isnull", exclude=True, label=gettext_lazy("resolved")
    )

    class Meta:
        model = Alert
        fields = ["kind", "area", "resolved"]


class AlertIndexView(ScopedIndexView):
    scoped = staticmethod(selectors.alerts_visible_to)

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("person", "area")

    def order_queryset(self, queryset):
        if self.is_explicitly_ordered:
            return super().order_queryset(queryset)
        return queryset.order_by(F("resolved_at").desc(nulls_first=True), "-created_at", "-pk")


class AlertInspectView(ScopedInspectView):
    scoped = staticmethod(selectors.alerts_visible_to)
    template_name = "tracing/admin/alert_inspect.html"


@require_POST
def alert_resolve(request, pk: int):
    _require(request, "tracing.change_alert")
    alerts = selectors.alerts_visible_to(request.user).filter(pk=pk)
    if not alerts.exists():
        raise Http404
    if alerts.filter(resolved_at__isnull=True).update(resolved_at=timezone.now(), resolved_by=request.user):
        messages.success(request, _("The alert was resolved."))
    return _back(request, reverse("alerts:index"))


class AlertViewSet(ReadOnlyViewSet):
    model = Alert
    name = "alerts"
    icon = "warning"
    menu_label = gettext_lazy("Alerts")
    index_view_class = AlertIndexView
    inspect_view_class = AlertInspectView
    filterset_class = AlertFilterSet
    list_per_page = 50
    list_display = [
        "kind",
        TitleColumn(
            "person",
            label=gettext_lazy("person"),
            accessor="person.full_name",
            get_url=lambda alert: reverse("persons:inspect", args=[alert.person_id]),
        ),
        "message",
        "area",
        DateColumn("created_at", label=gettext_lazy("raised at")),
        DateColumn("resolved_at", label=gettext_lazy("resolved at")),
        PostActionColumn(
            "resolve",
            label=gettext_lazy("action"),
            url_name="alerts:resolve",
            back_url_name="alerts:index",
            button=gettext_lazy("Resolve"),
            show=lambda alert: alert.resolved_at is None,
        ),
    ]
    list_export = [
        "id",
        "kind",
        "person_id",
        "person.full_name",
        "message",
        "area",
        "created_at",
        "resolved_at",
    ]
    export_headings = {"person_id": gettext_lazy("person ID"), "person.full_name": gettext_lazy("full name")}
    export_filename = "alerts"

    def get_urlpatterns(self):
        return [*super().get_urlpatterns(), path("resolve/<int:pk>/", alert_resolve, name="resolve")]


# --- Possible duplicates -------------------------------------------------------------------


class DuplicateIndexView(ScopedIndexView):
    scoped = staticmethod(selectors.duplicates_visible_to)

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("person__home_area", "other__home_area")


class DuplicateInspectView(ScopedInspectView):
    """The two persons side by side, with "merge (keep this one)" and "not the same person"."""

    scoped = staticmethod(selectors.duplicates_visible_to)
    template_name = "tracing/admin/duplicate_compare.html"
    compared = (
        "full_name",
        "birth_date",
        "birth_year",
        "sex",
        "national_id",
        "phone",
        "home_area",
        "address",
        "workplace",
        "level",
    )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        first, second = self.object.person, self.object.other
        rows = []
        for name in self.compared:
            field = Person._meta.get_field(name)
            values = [_display(person, name) for person in (first, second)]
            rows.append({"label": field.verbose_name, "values": values, "differ": values[0] != values[1]})
        context.update(
            rows=rows,
            persons=[first, second],
            can_merge=self.request.user.has_perm("tracing.add_personmerge"),
            can_dismiss=self.request.user.has_perm("tracing.change_duplicatecandidate"),
        )
        return context


def _display(person, name) -> str:
    display = getattr(person, f"get_{name}_display", None)
    value = display() if display else getattr(person, name)
    return "" if value is None else str(value)


@require_POST
def duplicate_merge(request, pk: int):
    """Merge the pair, keeping the person chosen in ``keep``."""
    _require(request, "tracing.add_personmerge")
    candidate = get_object_or_404(selectors.duplicates_visible_to(request.user), pk=pk)
    keep = request.POST.get("keep", "")
    pair = {str(candidate.person_id): candidate.other_id, str(candidate.other_id): candidate.person_id}
    if keep not in pair:
        messages.error(request, _("Choose which person to keep."))
        return redirect("duplicates:inspect", pk)
    kept = Person.objects.get(pk=int(keep))
    absorbed = Person.objects.get(pk=pair[keep])
    try:
        persons_merge(kept, absorbed, user=request.user)
    except MergeRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("duplicates:inspect", pk)
    messages.success(request, _("The two persons were merged. The merge can be undone on the person's page."))
    return redirect("persons:inspect", kept.pk)


@require_POST
def duplicate_dismiss(request, pk: int):
    """Not the same person: the pair leaves the queue."""
    _require(request, "tracing.change_duplicatecandidate")
    candidate = get_object_or_404(selectors.duplicates_visible_to(request.user), pk=pk)
    candidate.resolved_at = timezone.now()
    candidate.save(update_fields=["resolved_at"])
    messages.success(request, _("Marked as two different persons."))
    return redirect("duplicates:index")


class DuplicateViewSet(ReadOnlyViewSet):
    model = DuplicateCandidate
    name = "duplicates"
    icon = "doc-full"
    menu_label = gettext_lazy("Possible duplicates")
    index_view_class = DuplicateIndexView
    inspect_view_class = DuplicateInspectView
    list_per_page = 50
    list_display = [
        "__str__",
        Column("person_area", label=gettext_lazy("home area"), accessor="person.home_area"),
        "reason",
        DateColumn("created_at", label=gettext_lazy("found at")),
    ]

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("merge/<int:pk>/", duplicate_merge, name="merge"),
            path("dismiss/<int:pk>/", duplicate_dismiss, name="dismiss"),
        ]


# --- Quarantine orders, clusters, rules ----------------------------------------------------


class OrderFilterSet(ScopedFilterSet):
    status = django_filters.ChoiceFilter(choices=QuarantineOrder.STATUS_CHOICES, label=gettext_lazy("status"))
    kind = django_filters.ChoiceFilter(choices=QuarantineRule.KIND_CHOICES, label=gettext_lazy("where"))
    facility = django_filters.ModelChoiceFilter(queryset=Place.objects.none(), label=gettext_lazy("facility"))

    class Meta:
        model = QuarantineOrder
        fields = ["status", "kind", "facility"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        if request is not None:
            self.filters["facility"].queryset = Place.objects.filter(
                kind=Place.KIND_QUARANTINE_FACILITY, area__in=areas_visible_to(user=request.user)
            ).order_by("name")


class OrderIndexView(ScopedIndexView):
    scoped = staticmethod(selectors.orders_visible_to)
    template_name = "tracing/admin/order_index.html"

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("person", "facility", "area")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["occupancy"] = selectors.occupancy_visible_to(self.request.user)
        return context


class OrderInspectView(ScopedInspectView):
    scoped = staticmethod(selectors.orders_visible_to)


class QuarantineOrderViewSet(ReadOnlyViewSet):
    model = QuarantineOrder
    name = "quarantine_orders"
    icon = "home"
    menu_label = gettext_lazy("Quarantine orders")
    index_view_class = OrderIndexView
    inspect_view_class = OrderInspectView
    inspect_view_fields = [
        "person",
        "kind",
        "facility",
        "area",
        "level",
        "reason",
        "start_date",
        "planned_end",
        "status",
        "ended_at",
    ]
    filterset_class = OrderFilterSet
    list_per_page = 50
    list_display = [
        "person",
        "kind",
        "facility",
        "area",
        DateColumn("start_date", label=gettext_lazy("start")),
        DateColumn("planned_end", label=gettext_lazy("planned end")),
        "status",
    ]
    list_export = [
        "id",
        "person_id",
        "person.full_name",
        "kind",
        "facility",
        "area",
        "level",
        "start_date",
        "planned_end",
        "status",
        "ended_at",
    ]
    export_headings = {"person_id": gettext_lazy("person ID"), "person.full_name": gettext_lazy("full name")}
    export_filename = "quarantine-orders"


class ClusterIndexView(ScopedIndexView):
    scoped = staticmethod(selectors.clusters_visible_to)

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("place")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        selectors.clusters_counted(context["object_list"])  # the table's rows, counted in place
        return context


def _count(key: str):
    return lambda cluster: getattr(cluster, "counts", {}).get(key, 0)


class ClusterInspectView(ScopedInspectView):
    scoped = staticmethod(selectors.clusters_visible_to)


class ClusterViewSet(ReadOnlyViewSet):
    model = Cluster
    name = "clusters"
    icon = "group"
    menu_label = gettext_lazy("Clusters")
    index_view_class = ClusterIndexView
    inspect_view_class = ClusterInspectView
    inspect_view_fields = ["name", "place", "workshop", "first_case", "created_at"]
    list_per_page = 50
    list_display = [
        "name",
        "place",
        "workshop",
        Column("members", label=gettext_lazy("members"), accessor=_count("members")),
        Column("f0", label="F0", accessor=_count("F0")),
        Column("f1", label="F1", accessor=_count("F1")),
        Column("f2", label="F2", accessor=_count("F2")),
        Column("suspected", label=gettext_lazy("suspected"), accessor=_count("suspected")),
        Column("in_quarantine", label=gettext_lazy("in quarantine"), accessor=_count("in_quarantine")),
    ]


class QuarantineRuleViewSet(ModelViewSet):
    """The province's rules (days and place per level): edited as guidance changes."""

    model = QuarantineRule
    name = "quarantine_rules"
    icon = "list-ul"
    menu_label = gettext_lazy("Quarantine rules")
    copy_view_enabled = False
    list_display = ["level", "kind", "days", "self_monitoring_days"]
    edit_handler = ObjectList(
        [
            FieldRowPanel([FieldPanel("level"), FieldPanel("kind")]),
            FieldRowPanel([FieldPanel("days"), FieldPanel("self_monitoring_days")]),
        ]
    )


class TracingViewSetGroup(ModelViewSetGroup):
    menu_label = gettext_lazy("Tracing")
    menu_icon = "crosshairs"
    menu_order = 160
    items = (
        PersonViewSet,
        AlertViewSet,
        DuplicateViewSet,
        QuarantineOrderViewSet,
        ClusterViewSet,
        QuarantineRuleViewSet,
    )
