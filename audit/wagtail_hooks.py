"""The access log's admin screens (audit/views.py)."""

from wagtail import hooks

from .views import AccessRecordViewSet


@hooks.register("register_admin_viewset")
def register_access_log_viewset():
    return AccessRecordViewSet()
