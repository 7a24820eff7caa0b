"""The access log in the admin: a read-only listing (filters, search, export) and a detail page.

No add, edit or delete views exist (the records are append-only). Superusers read every
record; a province admin (``audit.view_accessrecord``) those of users in their area; others
are turned away as Wagtail turns away any user without a model's permission. A record outside
the reader's scope answers 404. Exporting the listing is itself recorded (ListingExportMixin).
"""

import django_filters
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from forms_engine.exports import ListingExportMixin

from .models import AccessRecord
from .selectors import record_search, records_visible_to, users_visible_to

ACTION_CHOICES = [
    ("view", _("view")),
    ("export", _("export")),
    ("print", _("print")),
    ("refuse", _("refused")),
    ("login", _("login")),
]


class AccessRecordFilterSet(WagtailFilterSet):
    user = django_filters.ModelChoiceFilter(queryset=AccessRecord.objects.none(), label=_("user"))
    action = django_filters.ChoiceFilter(choices=ACTION_CHOICES, label=_("action"))
    kind = django_filters.CharFilter(lookup_expr="istartswith", label=_("kind"))
    outcome = django_filters.ChoiceFilter(choices=AccessRecord.Outcome.choices, label=_("outcome"))
    created_at = django_filters.DateFromToRangeFilter(label=_("time"), widget=DateRangePickerWidget)

    class Meta:
        model = AccessRecord
        fields = ["user", "action", "kind", "outcome", "created_at"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        if request is not None:
            self.filters["user"].queryset = users_visible_to(request.user)


class AccessRecordIndexView(ListingExportMixin, generic.IndexView):
    def get_base_queryset(self):
        return records_visible_to(self.request.user).select_related("area")

    def search_queryset(self, queryset):
        if not self.is_searching:
            return queryset
        return record_search(queryset, query=self.search_query)


class AccessRecordInspectView(generic.InspectView):
    def get_object(self, queryset=None):
        return get_object_or_404(records_visible_to(self.request.user), pk=self.pk)


class AccessRecordViewSet(ModelViewSet):
    model = AccessRecord
    icon = "history"
    menu_label = _("Access log")
    menu_order = 900
    add_to_settings_menu = True
    name = "access_log"
    index_view_class = AccessRecordIndexView
    inspect_view_class = AccessRecordInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    filterset_class = AccessRecordFilterSet
    search_fields = ["object_id", "username"]  # enables the search box; record_search searches
    list_per_page = 100
    ordering = ["-created_at", "-pk"]
    list_display = [
        DateColumn("created_at", label=_("time")),
        Column("username", label=_("username")),
        "action",
        "kind",
        "object_id",
        "outcome",
        "area",
        "ip",
    ]
    list_export = [
        "id",
        "created_at",
        "username",
        "action",
        "kind",
        "object_id",
        "area",
        "outcome",
        "ip",
        "user_agent",
        "path",
        "detail",
    ]
    export_filename = "access-log"
    inspect_view_fields = list_export[1:]  # all but the id, which the page's URL shows

    def get_common_view_kwargs(self, **kwargs):
        return super().get_common_view_kwargs(
            **{"add_url_name": None, "edit_url_name": None, "delete_url_name": None, **kwargs}
        )

    def get_urlpatterns(self):
        # Read-only: no add, edit, copy or delete URL exists at all.
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
        ]
