"""The test suite: the services named by DATABASE_URL / REDIS_URL, fast hashing."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403

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
# Tests never reach the network: map tiles come from a local path that answers 404.
MAP_TILE_URL = "/static/no-tiles/{z}/{x}/{y}.png"
GEO_WIDGET_LEAFLET_TILE_LAYER = MAP_TILE_URL
# Tests make many areas with the same codes and live numbers: no answer may outlive its test.
DASHBOARD_CACHE_SECONDS = float(os.environ.get("DASHBOARD_CACHE_SECONDS", "0"))
