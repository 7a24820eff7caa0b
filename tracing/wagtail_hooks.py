"""The tracing admin's menu group (persons, alerts, duplicates, orders, clusters, rules)."""

from wagtail import hooks

from .views import TracingViewSetGroup


@hooks.register("register_admin_viewset")
def register_tracing_viewsets():
    return TracingViewSetGroup()
