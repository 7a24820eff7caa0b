"""Admin forms for areas and places, limited to the editing user's area."""

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from .models import Area
from .selectors import area_scope, areas_visible_to

PARENT_REQUIRED = _("Choose the area above this one: only province admins add top-level areas.")
PARENT_INSIDE_ITSELF = _("An area cannot be moved inside itself.")


class AreaChoiceField(forms.ModelChoiceField):
    """Areas in tree order, each labelled with its level so that namesakes stay distinct."""

    def label_from_instance(self, area):
        indent = "\u2003" * (area.depth - 1)
        return f"{indent}{area.name} ({area.code})"


def scoped_area_field(user, **kwargs) -> AreaChoiceField:
    queryset = areas_visible_to(user=user).order_by("path") if user else Area.objects.none()
    return AreaChoiceField(queryset=queryset, **kwargs)


class AreaForm(WagtailAdminModelForm):
    """Edits an area and where it hangs in the tree; saving keeps the tree consistent."""

    parent = forms.ModelChoiceField(queryset=Area.objects.none(), required=False, label=_("Part of"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"] = scoped_area_field(
            self.for_user, required=False, label=_("Part of"), help_text=_("Empty for a province.")
        )
        if self.instance.pk:
            self.fields["parent"].initial = self.instance.get_parent()

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        if parent is None and area_scope(user=self.for_user) is not True:
            raise forms.ValidationError(PARENT_REQUIRED)
        if parent and self.instance.pk and self.instance.contains(parent):
            raise forms.ValidationError(PARENT_INSIDE_ITSELF)
        return parent

    def save(self, commit=True):
        """Insert a new node under its parent, or move an edited one that changed parent."""
        area, parent = self.instance, self.cleaned_data.get("parent")
        if area.pk is None:
            return parent.add_child(instance=area) if parent else Area.add_root(instance=area)
        if parent != area.get_parent():
            if parent is None:
                area.move(Area.get_last_root_node(), "last-sibling")
            else:
                area.move(parent, "last-child")
            area = Area.objects.get(pk=area.pk)
            for name in ("name", "code", "level_label", "population", "location"):
                setattr(area, name, self.cleaned_data[name])
        area.save()
        return area


class PlaceForm(WagtailAdminModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"] = scoped_area_field(
            self.for_user, label=self.fields["area"].label, help_text=self.fields["area"].help_text
        )
