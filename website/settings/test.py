"""The test suite: the services named by DATABASE_URL / REDIS_URL, fast hashing."""

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit


def _redis_url_of_this_worker(environ) -> None:
    """Under pytest-xdist each worker gets its own Redis database (the one REDIS_URL names, plus
    the worker's number): tests empty their queues and count keys, and must not see another
    worker's. Done once, before the settings read REDIS_URL; processes the tests start inherit it."""
    worker, url = environ.get("PYTEST_XDIST_WORKER", ""), environ.get("REDIS_URL", "")
    if not worker.startswith("gw") or not url or environ.get("TEST_REDIS_URL_OF_WORKER") == worker:
        return
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0) + int(worker[2:])
    environ["REDIS_URL"] = parts._replace(path=f"/{number}").geturl()
    environ["TEST_REDIS_URL_OF_WORKER"] = worker


_redis_url_of_this_worker(os.environ)

from .base import *  # noqa: E402, F403

DEBUG = False
SECRET_KEY = "test-only-key"  # noqa: S105 - tests only
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Files the tests make (uploads, guidance PDFs, reports) go to a folder of their own, not var/.
# The folder is named in the environment, so processes the tests (and benches) start share it.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or tempfile.mkdtemp(prefix="outbreak-desk-test-media-"))
os.environ["MEDIA_ROOT"] = str(MEDIA_ROOT)
# Tests do not run collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WAGTAILADMIN_BASE_URL = "http://testserver"
# Browser tests serve static files straight from the apps.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Servers started by tests run requests in other threads: close connections after each
# request, and keep no pool, so that the test database can be flushed and dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
DATABASES["default"].get("OPTIONS", {}).pop("pool", None)  # noqa: F405
# Django's test flush truncates every table; the audit log's trigger refuses that unless the
# session allows it (audit/migrations/0002_append_only_trigger.py).
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c audit.allow_truncate=on"  # noqa: F405
# Tests never reach the network: map tiles come from a local path that answers 404.
MAP_TILE_URL = "/static/no-tiles/{z}/{x}/{y}.png"
GEO_WIDGET_LEAFLET_TILE_LAYER = MAP_TILE_URL
# Tests make many areas with the same codes and live numbers: no answer may outlive its test.
DASHBOARD_CACHE_SECONDS = float(os.environ.get("DASHBOARD_CACHE_SECONDS", "0"))
# Tests log in with force_login: the second factor is off except in the tests of it
# (tests/security/test_abuse_two_factor.py turns it on).
ADMIN_2FA_REQUIRED = False
