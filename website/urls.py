from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from forms_engine import entry, pwa
from reports import certificate_views

from . import health, scope, views
from .api import api_v1, content_api

urlpatterns = [
    # For the proxy or orchestrator: 200 while the database answers (website/health.py).
    path("health/", health.health, name="health"),
    # Django's admin, for django-rq's views of queues, workers and failed jobs (superusers only).
    path("django-admin/", admin.site.urls),
    # Certificates (reports/certificate_views.py): printed by staff in the admin, verified by anyone.
    path("admin/certificates/", include((certificate_views.staff_urlpatterns, "certificates"))),
    path("verify/<str:token>/", certificate_views.certificate_verify, name="certificate_verify"),
    # Before Wagtail's own pattern, which it shadows: the editors' ping, scoped (website/scope.py).
    path(
        "admin/editing-sessions/ping/<str:app_label>/<str:model_name>/<str:object_id>/<int:session_id>/",
        scope.editing_session_ping,
    ),
    # Wagtail's site history and workflow reports, scoped (website/scope.py); before its own.
    *scope.report_urlpatterns(),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("api/v1/", api_v1.urls),
    # The volunteers' data-entry screen (forms_engine/entry.py): staff without the admin use it too.
    path("entry/", include(entry.urlpatterns)),
    path("api/v2/", content_api.urls),
    # At the root so that the service worker's scope covers every form page.
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("manifest.webmanifest", pwa.manifest, name="web_manifest"),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail's page serving comes last: it catches every other path. Before it, a guide's PDF at
# its page's URL plus ".pdf", which Wagtail's pattern (paths ending in "/") would not match.
urlpatterns += [
    re_path(r"^(?P<path>(?:[\w\-]+/)*[\w\-]+)\.pdf$", views.guidance_pdf, name="guidance_pdf"),
    path("", include(wagtail_urls)),
]
