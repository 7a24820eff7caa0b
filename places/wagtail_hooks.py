from wagtail import hooks

from .views import PlacesViewSetGroup


@hooks.register("register_admin_viewset")
def register_places_viewsets():
    return PlacesViewSetGroup()
