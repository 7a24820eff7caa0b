from wagtail import hooks

from .users import USER_BULK_ACTIONS
from .views import PlacesViewSetGroup

# Wagtail's bulk actions on users, scoped (places/users.py). Registered after Wagtail's own
# (order 1), so they replace its entries for the same actions.
for action in USER_BULK_ACTIONS:
    hooks.register("register_bulk_action", action, order=1)


@hooks.register("register_admin_viewset")
def register_places_viewsets():
    return PlacesViewSetGroup()
