from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from wagtail.users.apps import WagtailUsersAppConfig


class PlacesConfig(AppConfig):
    name = "places"
    verbose_name = _("Areas and places")
    default_auto_field = "django.db.models.BigAutoField"


class ScopedUsersAppConfig(WagtailUsersAppConfig):
    """Wagtail's users app, whose user forms also set the user's area (their scope)."""

    user_viewset = "places.users.ScopedUserViewSet"
