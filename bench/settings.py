"""Settings for benchmarks that run the real server: production settings, plus bench-only apps.

Production settings as deployed (DEBUG off, the same middleware, PostgreSQL and Redis from
``DATABASE_URL`` / ``REDIS_URL``), served over plain HTTP on the loopback interface, with a
throwaway secret key and the stock Wagtail form page that baselines compare against
(``bench.stockform``, never installed by the product's own settings).

    DJANGO_SETTINGS_MODULE=bench.settings   # with the project root on sys.path
"""

import os

# Production refuses to start without these; the bench sets them for its own process only.
os.environ.setdefault("SECRET_KEY", "bench-only-insecure-key")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("CSRF_TRUSTED_ORIGINS", "http://127.0.0.1,http://localhost")

from website.settings.production import *  # noqa: F403
from website.settings.production import CACHES, INSTALLED_APPS

DEBUG = False
# Fixed, so that API tokens made by the bench's set-up hash the same way in the server.
SECRET_KEY = "bench-only-insecure-key-never-use-in-production"  # noqa: S105 - throwaway
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
CSRF_TRUSTED_ORIGINS = ["http://127.0.0.1", "http://localhost"]
# Plain HTTP on 127.0.0.1: no redirect to HTTPS, cookies usable without TLS.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# No collectstatic on a fresh machine: nothing the benchmarks serve renders static URLs.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
INSTALLED_APPS = [*INSTALLED_APPS, "bench.stockform"]
# Each run keys the shared Redis cache apart, so nothing cached by an earlier run (whose
# database is gone) is ever read back; the keys expire on their own.
if "KEY_PREFIX" in CACHES["default"]:
    CACHES["default"]["KEY_PREFIX"] = os.environ.get("BENCH_CACHE_PREFIX", "outbreak-desk-bench")
