"""The web-app manifest and the service worker, served from the site root for its scope."""

import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse, JsonResponse
from django.templatetags.static import static

SERVICE_WORKER_SOURCE = "forms_engine/sw.js"
# What every form page loads. The worker fetches them afresh when it installs, so that a page
# saved for offline use never outlives the scripts of its deployment.
PRECACHE = (
    "website/site.css",
    "forms_engine/form.css",
    "forms_engine/outbox.js",
    "forms_engine/form.js",
)


def manifest(request):
    return JsonResponse(
        {
            "name": "Outbreak Desk",
            "short_name": "Outbreak Desk",
            "description": "Biểu mẫu phòng, chống dịch: khai báo, truy vết, cách ly, tiêm chủng, xét nghiệm.",
            "lang": "vi",
            "dir": "ltr",
            "start_url": "/",
            "scope": "/",
            "display": "standalone",
            "orientation": "portrait",
            "background_color": "#f6f8fa",
            "theme_color": "#0b5394",
            "icons": [],
        },
        content_type="application/manifest+json",
        json_dumps_params={"ensure_ascii": False},
    )


def service_worker(request):
    """The worker's source with this deployment's static URLs prepended.

    The hashed static names change with every deployment that changes a file, so the worker's
    bytes change too and browsers install the new one.
    """
    response = HttpResponse(service_worker_source(), content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


def service_worker_source() -> str:
    body = Path(finders.find(SERVICE_WORKER_SOURCE)).read_text(encoding="utf-8")
    config = json.dumps({"staticUrl": settings.STATIC_URL, "precache": [static(name) for name in PRECACHE]})
    version = hashlib.sha256(f"{config}\n{body}".encode()).hexdigest()[:12]
    return f'const CONFIG = {config};\nconst VERSION = "{version}";\n{body}'
