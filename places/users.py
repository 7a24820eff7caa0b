"""Wagtail's user admin with each user's area, limited to the editing user's own area.

An area IT team manages the users of its area only: the listing shows them, the area
choices stop at its boundary, and any other user's page answers 404. Nobody but a superuser
makes superusers, and the groups on offer are those the editor may give
(``places.roles.groups_grantable``): whoever gives a group can log in as the user they gave
it to, since they set the password, so a user who holds a group the editor may not give is
not the editor's to manage either.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from wagtail.users.forms import UserCreationForm, UserEditForm
from wagtail.users.views import users as wagtail_users
from wagtail.users.views.bulk_actions import AssignRoleBulkAction, DeleteBulkAction, SetActiveStateBulkAction

from forms_engine.exports import ListingExportMixin

from .forms import scoped_area_field
from .models import UserArea
from .roles import groups_grantable
from .selectors import area_scope, scope_queryset, user_area

User = get_user_model()
AREA_HELP = _("The user sees and edits only data inside this area.")


def scope_users(queryset, *, user):
    """Users whose area lies inside ``user``'s area (all users for a superuser)."""
    if area_scope(user=user) is True:
        return queryset
    return scope_queryset(queryset.filter(is_superuser=False), user=user, area_field="area_scope__area")


def users_manageable(queryset, *, user):
    """The users ``user`` may see and edit: inside their area, no superuser, and holding no
    group that ``user`` may not give (a province admin is no area IT team's to edit)."""
    if user.is_superuser:
        return queryset
    beyond = Group.objects.exclude(pk__in=groups_grantable(user=user).values("pk"))
    return scope_users(queryset, user=user).exclude(groups__in=beyond)


class UserAreaFormMixin:
    """Adds the ``area`` field; needs ``for_user`` (the person editing) to limit choices."""

    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"] = scoped_area_field(
            for_user, required=area_scope(user=for_user) is not True, label=_("area"), help_text=AREA_HELP
        )
        if self.instance.pk:
            self.fields["area"].initial = user_area(user=self.instance)
        self.limit_rights(for_user)

    def limit_rights(self, for_user):
        """Only superusers make superusers; groups on offer are those ``for_user`` may give,
        and nobody but a superuser changes their own groups."""
        if for_user is None or for_user.is_superuser:
            return
        self.fields.pop("is_superuser", None)
        if "groups" not in self.fields:
            return
        if self.instance.pk == for_user.pk:
            del self.fields["groups"]
        else:
            self.fields["groups"].queryset = groups_grantable(user=for_user)

    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            self.save_area(user)
        return user

    def save_area(self, user):
        area = self.cleaned_data.get("area")
        if area is None:
            UserArea.objects.filter(user=user).delete()
        else:
            UserArea.objects.update_or_create(user=user, defaults={"area": area})


class ScopedUserCreationForm(UserAreaFormMixin, UserCreationForm):
    pass


class ScopedUserEditForm(UserAreaFormMixin, UserEditForm):
    pass


class AreaFormKwargsMixin:
    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "for_user": self.request.user}


class ScopedObjectMixin:
    """Any view of one user: one the editor may not manage answers 404, as if absent."""

    def get_object(self, *args, **kwargs):
        obj = super().get_object(*args, **kwargs)
        if not users_manageable(User.objects.filter(pk=obj.pk), user=self.request.user).exists():
            raise Http404
        return obj


class IndexView(ListingExportMixin, wagtail_users.IndexView):
    """The users the editor manages; exported (CSV, XLSX, JSON) with their area and groups,
    the columns of the users import."""

    list_export = ["username", "first_name", "last_name", "email", "area_code", "group_names", "is_active"]
    export_headings = {"area_code": _("area"), "group_names": _("groups")}
    export_filename = "users"
    export_personal_names = ()  # staff accounts, not persons: those who manage them see them

    def get_base_queryset(self):
        return users_manageable(super().get_base_queryset(), user=self.request.user)

    def export_response(self, queryset, fmt):
        return super().export_response(
            queryset.select_related("area_scope__area").prefetch_related("groups"), fmt
        )

    def export_item(self, user):
        scope = getattr(user, "area_scope", None)
        user.area_code = scope.area.code if scope else ""
        user.group_names = "; ".join(sorted(group.name for group in user.groups.all()))
        return user


class CreateView(AreaFormKwargsMixin, wagtail_users.CreateView):
    pass


class EditView(AreaFormKwargsMixin, ScopedObjectMixin, wagtail_users.EditView):
    pass


class DeleteView(ScopedObjectMixin, wagtail_users.DeleteView):
    pass


class HistoryView(ScopedObjectMixin, wagtail_users.HistoryView):
    pass


class UsageView(ScopedObjectMixin, wagtail_users.UserViewSet.usage_view_class):
    pass


class ScopedUserViewSet(wagtail_users.UserViewSet):
    index_view_class = IndexView
    add_view_class = CreateView
    edit_view_class = EditView
    delete_view_class = DeleteView
    history_view_class = HistoryView
    usage_view_class = UsageView
    # A copy would show another user's details in a new form, and is no way to make users here.
    copy_view_enabled = False
    create_template_name = "places/users/create.html"
    edit_template_name = "places/users/edit.html"

    def get_form_class(self, for_update=False):
        return ScopedUserEditForm if for_update else ScopedUserCreationForm


# --- bulk actions on the user listing -------------------------------------------------------


class ScopedUserBulkMixin:
    """Wagtail's bulk actions on users, limited as the user views are: a user the editor may
    not manage answers 404 (not "no permission", which would show their name)."""

    def get_all_objects_in_listing_query(self, parent_id):
        ids = super().get_all_objects_in_listing_query(parent_id)
        return users_manageable(User.objects.filter(pk__in=ids), user=self.request.user).values_list(
            "pk", flat=True
        )

    def get_actionable_objects(self):
        objects, extra = super().get_actionable_objects()
        everyone = [*objects, *extra["items_with_no_access"]]
        asked = User.objects.filter(pk__in=[user.pk for user in everyone])
        if users_manageable(asked, user=self.request.user).count() != len(everyone):
            raise Http404
        return objects, extra


class ScopedAssignRoleBulkAction(ScopedUserBulkMixin, AssignRoleBulkAction):
    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        form.fields["role"].queryset = groups_grantable(user=self.request.user)
        return form


class ScopedDeleteBulkAction(ScopedUserBulkMixin, DeleteBulkAction):
    pass


class ScopedSetActiveStateBulkAction(ScopedUserBulkMixin, SetActiveStateBulkAction):
    pass


USER_BULK_ACTIONS = (ScopedAssignRoleBulkAction, ScopedDeleteBulkAction, ScopedSetActiveStateBulkAction)
