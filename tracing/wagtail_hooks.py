"""The tracing admin's menu group (persons, alerts, duplicates, orders, clusters, rules)."""

from wagtail import hooks

from . import (
    entry_hints,  # noqa: F401 - the data-entry screen's duplicate hint (entry_person_matches)
    resources,  # noqa: F401 - registers the persons import (register_importers)
)
from .views import TracingViewSetGroup


@hooks.register("register_admin_viewset")
def register_tracing_viewsets():
    return TracingViewSetGroup()
