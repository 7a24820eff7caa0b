"""Wagtail's user admin with each user's area, limited to the editing user's own area.

An area IT team manages the users of its area only: the listing shows them, the area
choices stop at its boundary, and any other user's page answers 404.
"""

from django.contrib.auth import get_user_model
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from wagtail.users.forms import UserCreationForm, UserEditForm
from wagtail.users.views import users as wagtail_users

from .forms import scoped_area_field
from .models import UserArea
from .selectors import area_scope, scope_queryset, user_area

User = get_user_model()
AREA_HELP = _("The user sees and edits only data inside this area.")


def scope_users(queryset, *, user):
    """Users whose area lies inside ``user``'s area (all users for a superuser)."""
    if area_scope(user=user) is True:
        return queryset
    return scope_queryset(queryset.filter(is_superuser=False), user=user, area_field="area_scope__area")


class UserAreaFormMixin:
    """Adds the ``area`` field; needs ``for_user`` (the person editing) to limit choices."""

    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"] = scoped_area_field(
            for_user, required=area_scope(user=for_user) is not True, label=_("area"), help_text=AREA_HELP
        )
        if self.instance.pk:
            self.fields["area"].initial = user_area(user=self.instance)

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
    def get_object(self, queryset=None):
        obj = super().get_object(queryset)
        if not scope_users(User.objects.filter(pk=obj.pk), user=self.request.user).exists():
            raise Http404
        return obj


class IndexView(wagtail_users.IndexView):
    def get_base_queryset(self):
        return scope_users(super().get_base_queryset(), user=self.request.user)


class CreateView(AreaFormKwargsMixin, wagtail_users.CreateView):
    pass


class EditView(AreaFormKwargsMixin, ScopedObjectMixin, wagtail_users.EditView):
    pass


class DeleteView(ScopedObjectMixin, wagtail_users.DeleteView):
    pass


class ScopedUserViewSet(wagtail_users.UserViewSet):
    index_view_class = IndexView
    add_view_class = CreateView
    edit_view_class = EditView
    delete_view_class = DeleteView
    create_template_name = "places/users/create.html"
    edit_template_name = "places/users/edit.html"

    def get_form_class(self, for_update=False):
        return ScopedUserEditForm if for_update else ScopedUserCreationForm
