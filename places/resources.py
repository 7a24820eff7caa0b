"""django-import-export resources for areas, places and users, each inside the importer's area.

Every resource takes ``scope_area`` (None: the whole tree, a superuser's) and refuses, as a
row's validation error, whatever would reach outside it: a village under another district,
a place there, a user of another area. Rows are keyed by code (areas, places) or username
(users): importing the same file again updates nothing and reports the rows as skipped.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy
from import_export import fields, resources, widgets

from .models import Area, Place, UserArea

OUTSIDE_SCOPE = gettext_lazy("%(area)s is outside the area you work in.")
NO_SUCH_AREA = gettext_lazy("No area has the code %(code)s.")
NO_MOVE = gettext_lazy("An area cannot be moved to another parent by an import.")
NOT_YOURS = gettext_lazy("This already exists outside the area you work in.")
NAME_NEEDED = gettext_lazy("Enter a name.")
NO_SUCH_GROUP = gettext_lazy("No group is named %(name)s.")
GROUP_NOT_YOURS = gettext_lazy("You may not give the group %(name)s.")
GROUPS_SEPARATOR = ";"


class AreaCodeWidget(widgets.ForeignKeyWidget):
    """An area named by its official code; an unknown code is the row's error, not a crash."""

    def __init__(self):
        super().__init__(Area, field="code")

    def clean(self, value, row=None, **kwargs):
        code = str(value or "").strip()
        if not code:
            return None
        area = Area.objects.filter(code=code).first()
        if area is None:
            raise ValueError(NO_SUCH_AREA % {"code": code})
        return area


def scope_error(scope: Area | None, area: Area | None) -> str | None:
    """Why ``area`` may not be written by someone working in ``scope``, or None."""
    if scope is None or area is None or scope.contains(area):
        return None
    return str(OUTSIDE_SCOPE % {"area": area.name})


class GroupNamesWidget(widgets.Widget):
    """Groups (roles and teams) by name, separated by semicolons; an empty cell: no change."""

    def clean(self, value, row=None, **kwargs):
        names = [name.strip() for name in str(value or "").split(GROUPS_SEPARATOR) if name.strip()]
        if not names:
            return None
        found = {group.name: group for group in Group.objects.filter(name__in=names)}
        if missing := [name for name in names if name not in found]:
            raise ValueError(NO_SUCH_GROUP % {"name": missing[0]})
        return [found[name] for name in names]

    def render(self, value, obj=None, **kwargs):
        return f"{GROUPS_SEPARATOR} ".join(sorted(group.name for group in value or ()))


class ScopedResource(resources.ModelResource):
    """A resource that knows the importer's area; subclasses say which columns are needed."""

    required_columns: tuple[str, ...] = ()
    labels: dict = {}

    def __init__(self, *, scope_area: Area | None = None):
        super().__init__()
        self.scope_area = scope_area


class AreaResource(ScopedResource):
    """Villages and residential groups (or any level) under an area of the importer's."""

    parent = fields.Field(column_name="parent", attribute="_import_parent", widget=AreaCodeWidget())
    required_columns = ("code", "name", "parent")

    class Meta:
        model = Area
        fields = ("code", "name", "level_label", "population", "parent")
        import_id_fields = ("code",)
        skip_unchanged = True
        report_skipped = True
        skip_html_diff = True
        store_row_values = True

    def dehydrate_parent(self, area):
        parent = area.get_parent()
        return parent.code if parent else ""

    def import_instance(self, instance, row, **kwargs):
        current_parent = instance.get_parent() if instance.pk else None
        super().import_instance(instance, row, **kwargs)
        parent = instance._import_parent
        if not str(instance.name or "").strip():
            raise ValidationError({"name": NAME_NEEDED})
        if parent is None:
            raise ValidationError({"parent": NO_SUCH_AREA % {"code": row.get("parent") or "—"}})
        if error := scope_error(self.scope_area, parent):
            raise ValidationError({"parent": error})
        if current_parent is not None and current_parent.pk != parent.pk:
            raise ValidationError({"parent": NO_MOVE})

    def get_instance(self, instance_loader, row):
        instance = super().get_instance(instance_loader, row)
        if instance is not None:
            instance._import_parent = instance.get_parent()
        return instance

    def save_instance(self, instance, is_create, row, **kwargs):
        if is_create:
            parent = Area.objects.get(pk=row_parent(row).pk)  # fresh: numchild changes as we add
            parent.add_child(instance=instance)
        else:
            instance.save()


def row_parent(row) -> Area:
    return Area.objects.get(code=str(row.get("parent")).strip())


class PlaceResource(ScopedResource):
    """Checkpoints, facilities, sites and venues, by short code, in the importer's area."""

    area = fields.Field(column_name="area", attribute="area", widget=AreaCodeWidget())
    required_columns = ("code", "name", "kind", "area")

    class Meta:
        model = Place
        fields = ("code", "name", "kind", "area", "address", "capacity", "is_active")
        import_id_fields = ("code",)
        skip_unchanged = True
        report_skipped = True
        skip_html_diff = True
        store_row_values = True
        clean_model_instances = True  # the code's pattern, the kind, capacity only where it applies

    def before_import_row(self, row, **kwargs):
        if row.get("code"):
            row["code"] = str(row["code"]).strip().upper()
        if "is_active" in row and str(row["is_active"] or "").strip() == "":
            row["is_active"] = "1"  # an empty cell is not "closed": the column's default

    def import_instance(self, instance, row, **kwargs):
        if instance.pk and (error := scope_error(self.scope_area, instance.area)):
            raise ValidationError({"code": NOT_YOURS})
        super().import_instance(instance, row, **kwargs)
        if error := scope_error(self.scope_area, instance.area):
            raise ValidationError({"area": error})


class UserResource(ScopedResource):
    """Users, the area each works in (places.UserArea) and their groups, inside the importer's
    area and within what the importer may give, as in the user admin (places/users.py).

    A new user gets no password: they set one through "forgot password", or an admin does.
    The ``groups`` column (names separated by semicolons) sets the user's roles and teams; an
    empty cell leaves an existing user's groups as they are.
    """

    area = fields.Field(column_name="area", attribute="_import_area", widget=AreaCodeWidget())
    groups = fields.Field(column_name="groups", attribute="_import_groups", widget=GroupNamesWidget())
    required_columns = ("username", "area")

    def __init__(self, *, scope_area: Area | None = None, importer=None):
        super().__init__(scope_area=scope_area)
        self.importer = importer

    class Meta:
        model = get_user_model()
        fields = ("username", "first_name", "last_name", "email", "area", "groups")
        import_id_fields = ("username",)
        skip_unchanged = True
        report_skipped = True
        skip_html_diff = True
        store_row_values = True

    def dehydrate_area(self, user):
        scope = UserArea.objects.filter(user=user).select_related("area").first()
        return scope.area.code if scope else ""

    def get_instance(self, instance_loader, row):
        user = super().get_instance(instance_loader, row)
        if user is not None:
            scope = UserArea.objects.filter(user=user).select_related("area").first()
            user._import_area = scope.area if scope else None
        return user

    def dehydrate_groups(self, user):
        return self.fields["groups"].widget.render(user.groups.all() if user.pk else ())

    def import_instance(self, instance, row, **kwargs):
        if instance.pk and (instance.is_superuser or self.not_ours(instance) or self.beyond_reach(instance)):
            raise ValidationError({"username": NOT_YOURS})
        instance._import_groups = None
        super().import_instance(instance, row, **kwargs)
        area = instance._import_area
        if area is None:
            raise ValidationError({"area": NO_SUCH_AREA % {"code": row.get("area") or "—"}})
        if error := scope_error(self.scope_area, area):
            raise ValidationError({"area": error})
        if refused := [group for group in instance._import_groups or () if group not in self.grantable()]:
            raise ValidationError({"groups": GROUP_NOT_YOURS % {"name": refused[0].name}})

    def grantable(self) -> set[Group]:
        """The groups the importer may give (a superuser's import with no importer: all)."""
        if not hasattr(self, "_grantable"):
            from .roles import groups_grantable

            groups = groups_grantable(user=self.importer) if self.importer else Group.objects.all()
            self._grantable = set(groups)
        return self._grantable

    def beyond_reach(self, user) -> bool:
        """A user holding a group the importer may not give is not theirs to change."""
        return any(group not in self.grantable() for group in user.groups.all())

    def not_ours(self, user) -> bool:
        """A user with an area outside the importer's (or none, unless a superuser imports)."""
        current = getattr(user, "_import_area_before", None)
        return self.scope_area is not None and (current is None or not self.scope_area.contains(current))

    def before_import_row(self, row, **kwargs):
        if row.get("username"):
            row["username"] = str(row["username"]).strip()

    def get_or_init_instance(self, instance_loader, row):
        user, new = super().get_or_init_instance(instance_loader, row)
        user._import_area_before = None if new else user._import_area
        return user, new

    def skip_row(self, instance, original, row, import_validation_errors=None):
        before = getattr(instance, "_import_area_before", None)
        if before is None or before.pk != instance._import_area.pk:
            return False
        groups = getattr(instance, "_import_groups", None)
        if groups is not None and set(groups) != set(instance.groups.all()):
            return False
        return super().skip_row(instance, original, row, import_validation_errors)

    def save_instance(self, instance, is_create, row, **kwargs):
        if is_create:
            instance.set_unusable_password()
        super().save_instance(instance, is_create, row, **kwargs)
        UserArea.objects.update_or_create(user=instance, defaults={"area": instance._import_area})
        if getattr(instance, "_import_groups", None) is not None:
            instance.groups.set(instance._import_groups)
