"""The reports admin: situation reports (listing, asking, progress, download), and the guard
on Wagtail's own document URLs for the reports' PDFs."""

from django.http import Http404
from wagtail import hooks

from workflows.queues import queues_are_synchronous

from .situation_jobs import situation_reports_due
from .views import ScopedDocumentsAdminAPIViewSet, SituationReportViewSet, document_refused


@hooks.register("register_admin_viewset")
def register_situation_reports():
    return SituationReportViewSet()


@hooks.register("before_serve_document")
def situation_report_documents_in_scope(document, request):
    """/documents/<id>/<name> of a situation report: 404 outside the reader's area, as the
    report's own download is."""
    if document_refused(document, request):
        raise Http404


# After wagtail.documents' own hook (order 0), whose endpoint this one replaces.
@hooks.register("construct_admin_api", order=100)
def situation_report_documents_in_scope_api(router):
    router.register_endpoint("documents", ScopedDocumentsAdminAPIViewSet)


@hooks.register("construct_homepage_panels")
def situation_reports_in_process(request, panels):
    """Without Redis there is no scheduler process: the admin's home, which staff open every
    day, records the day's situation reports once it is past the hour (the job runs at once)."""
    if queues_are_synchronous():
        situation_reports_due()
