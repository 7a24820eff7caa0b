"""Wagtail admin viewsets for areas and places, scoped to the user's area."""

from django.http import Http404
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.panels import FieldPanel, FieldRowPanel, ObjectList
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.views.generic import history, usage
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.admin.widgets import Button
from wagtail.log_actions import log

from forms_engine.exports import ListingExportMixin

from .forms import AreaForm, PlaceForm
from .models import Area, Place
from .selectors import area_search, is_in_scope, place_search, scope_queryset, with_parent_name
from .widgets import MapPointPanel


class ScopedViewMixin:
    """Shows only objects in the user's area; any other answers 404, as if it did not exist."""

    area_field = "area"

    def scoped(self, queryset):
        return scope_queryset(queryset, user=self.request.user, area_field=self.area_field)

    def get_object(self, *args, **kwargs):
        obj = super().get_object(*args, **kwargs)
        if not is_in_scope(obj, user=self.request.user, area_field=self.area_field):
            raise Http404
        return obj


def scoped_views(area_field: str) -> tuple:
    """Scoped (history, usage, copy) views: the generic views that show one object besides its
    edit, delete and inspect views. Without them another district's object, its log and what
    refers to it would open by id."""
    views = (history.HistoryView, usage.UsageView, generic.CopyView)
    attrs = {"area_field": area_field}
    return tuple(type(f"Scoped{view.__name__}", (ScopedViewMixin, view), attrs) for view in views)


class ScopedIndexView(ListingExportMixin, ScopedViewMixin, generic.IndexView):
    search_function = None

    def get_base_queryset(self):
        return self.scoped(super().get_base_queryset())

    def search_queryset(self, queryset):
        if not self.is_searching:
            return queryset
        return type(self).search_function(queryset, query=self.search_query)


# --- Areas ---------------------------------------------------------------------------------


class AreaIndexView(ScopedIndexView):
    area_field = ""
    search_function = staticmethod(area_search)
    default_ordering = "path"

    def get_base_queryset(self):
        return with_parent_name(super().get_base_queryset())


class AreaCreateView(ScopedViewMixin, generic.CreateView):
    area_field = ""

    def save_instance(self):
        area = self.form.save()
        log(instance=area, action="wagtail.create", user=self.request.user)
        return area


class AreaEditView(ScopedViewMixin, generic.EditView):
    area_field = ""

    def save_instance(self):
        area = self.form.save()
        log(instance=area, action="wagtail.edit", user=self.request.user)
        return area


class AreaDeleteView(ScopedViewMixin, generic.DeleteView):
    area_field = ""


class AreaInspectView(ScopedViewMixin, generic.InspectView):
    area_field = ""


class AreaViewSet(ModelViewSet):
    model = Area
    history_view_class, usage_view_class, copy_view_class = scoped_views(area_field="")
    icon = "site"
    menu_label = _("Areas")
    name = "areas"
    index_view_class = AreaIndexView
    add_view_class = AreaCreateView
    edit_view_class = AreaEditView
    delete_view_class = AreaDeleteView
    inspect_view_class = AreaInspectView
    inspect_view_enabled = True
    list_display = [
        "name",
        "level_label",
        "code",
        Column("parent_name", label=_("Part of")),
        "population",
    ]
    list_filter = ["depth", "level_label"]
    list_export = ["code", "name", "level_label", "parent_name", "population", "location"]
    export_headings = {"parent_name": _("Part of")}
    export_filename = "areas"
    list_per_page = 50
    search_fields = ["name"]  # enables the search box; AreaIndexView folds accents
    ordering = ["path"]
    edit_handler = ObjectList(
        [
            FieldRowPanel([FieldPanel("name"), FieldPanel("level_label")]),
            FieldRowPanel([FieldPanel("code"), FieldPanel("population")]),
            FieldPanel("parent"),
            MapPointPanel("location", heading=_("centroid")),
        ],
        base_form_class=AreaForm,
    )


# --- Places --------------------------------------------------------------------------------


def place_links(place: Place) -> list[tuple[str, str]]:
    """(label, URL) links other apps offer on a place's screens, e.g. its QR posters.

    Apps register ``@hooks.register("place_links")`` functions taking a place, so that this
    app needs to import none of them.
    """
    return [link for provide in hooks.get_hooks("place_links") for link in provide(place)]


class PlaceIndexView(ScopedIndexView):
    search_function = staticmethod(place_search)
    export_personal_names = frozenset()  # a place's address is public, not a person's

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("area")

    def get_list_more_buttons(self, instance):
        links = [
            MenuItem(label, url=url, icon_name="download", priority=50)
            for label, url in place_links(instance)
        ]
        return [*super().get_list_more_buttons(instance), *links]


class PlaceCreateView(ScopedViewMixin, generic.CreateView):
    pass


class PlaceEditView(ScopedViewMixin, generic.EditView):
    pass


class PlaceDeleteView(ScopedViewMixin, generic.DeleteView):
    pass


class PlaceInspectView(ScopedViewMixin, generic.InspectView):
    @cached_property
    def header_more_buttons(self):
        links = [
            Button(label, url=url, icon_name="download", priority=50)
            for label, url in place_links(self.object)
        ]
        return [*super().header_more_buttons, *links]


class PlaceViewSet(ModelViewSet):
    model = Place
    history_view_class, usage_view_class, copy_view_class = scoped_views(area_field="area")
    icon = "pick"
    menu_label = _("Places")
    name = "places"
    index_view_class = PlaceIndexView
    add_view_class = PlaceCreateView
    edit_view_class = PlaceEditView
    delete_view_class = PlaceDeleteView
    inspect_view_class = PlaceInspectView
    inspect_view_enabled = True
    list_display = ["name", "kind", "code", "area", "capacity", "is_active"]
    list_filter = ["kind", "is_active"]
    list_export = [
        "code",
        "name",
        "kind",
        "area.code",
        "area",
        "address",
        "capacity",
        "location",
        "is_active",
    ]
    export_headings = {"area.code": _("area code")}
    export_filename = "places"
    list_per_page = 50
    search_fields = ["name"]  # enables the search box; PlaceIndexView folds accents
    edit_handler = ObjectList(
        [
            FieldRowPanel([FieldPanel("name"), FieldPanel("kind")]),
            FieldRowPanel([FieldPanel("code"), FieldPanel("capacity")]),
            FieldPanel("area"),
            FieldPanel("address"),
            MapPointPanel("location", address_field="address"),
            FieldPanel("is_active"),
        ],
        base_form_class=PlaceForm,
    )


class PlacesViewSetGroup(ModelViewSetGroup):
    menu_label = _("Areas and places")
    menu_icon = "site"
    menu_order = 200
    items = (AreaViewSet, PlaceViewSet)
