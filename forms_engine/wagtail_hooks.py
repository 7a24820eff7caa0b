from wagtail import hooks

from . import qr_admin  # noqa: F401 - registers the QR poster views and buttons
from .views import SubmissionViewSet


@hooks.register("register_admin_viewset")
def register_submission_viewset():
    return SubmissionViewSet()
