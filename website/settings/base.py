"""Settings shared by every environment. Secrets and hosts never live here."""

import os
from datetime import timedelta
from pathlib import Path

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _

from .environment import (
    caches_config,
    channel_layers_config,
    database_config,
    env_flag,
    env_list,
    rq_queues_config,
    tile_origins,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

INSTALLED_APPS = [
    # Project apps first so that their templates and translations win.
    "website",
    "places",
    "forms_engine",
    "workflows",
    "tracing",
    "reports",
    "realtime",
    "audit",  # who saw, exported or printed personal data (append-only)
    # Wagtail
    "wagtail.contrib.forms",
    "wagtail.contrib.table_block",  # tables in guidance pages
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "places.apps.ScopedUsersAppConfig",  # wagtail.users, with the user's area on its forms
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail.api.v2",
    "wagtail.api.v3",  # API tokens issued and revoked in the admin (Bearer auth for /api/v1/)
    "wagtail",
    "wagtailgeowidget",
    "modelcluster",
    "taggit",
    "rest_framework",
    "channels",
    "django_rq",
    # Abuse and attack (docs/security.md): login lockout, two-factor codes, Content-Security-Policy.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    # Django
    "website.admin_site.SuperuserAdminConfig",  # django.contrib.admin, superusers only (job views)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "website.bad_requests.RefuseNulBytesMiddleware",  # 400, not a database error, for a NUL in a URL
    "csp.middleware.CSPMiddleware",
    "website.security.SecurityHeadersMiddleware",  # Permissions-Policy (Django has no setting)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.middleware.RefusalAuditMiddleware",  # a logged-in user's 403/404 under /admin/, /api/
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified()
    "website.two_factor.AdminTwoFactorMiddleware",  # admin roles verify a TOTP code each session
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "website.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

WSGI_APPLICATION = "website.wsgi.application"
ASGI_APPLICATION = "website.asgi.application"

# --- Services, from the environment -------------------------------------------------------
DATABASES = {"default": database_config(os.environ, VAR_DIR / "db.sqlite3")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
RQ_QUEUES = rq_queues_config(os.environ)
# The outbox (workflows/outbox.py): an event relayed this long ago and neither done nor still
# in RQ is relayed again, at most OUTBOX_MAX_RELAYS times in all; the scheduler looks at the
# outbox every OUTBOX_POLL_SECONDS and sweeps every OUTBOX_SWEEP_SECONDS.
OUTBOX_STUCK_AFTER_SECONDS = int(os.environ.get("OUTBOX_STUCK_AFTER_SECONDS", "600"))
OUTBOX_MAX_RELAYS = int(os.environ.get("OUTBOX_MAX_RELAYS", "5"))
OUTBOX_POLL_SECONDS = float(os.environ.get("OUTBOX_POLL_SECONDS", "0.02"))
OUTBOX_SWEEP_SECONDS = float(os.environ.get("OUTBOX_SWEEP_SECONDS", "30"))
# While jobs wait for a worker, the scheduler holds new events back up to this long, so that under
# load they go out together in fewer, larger jobs (run_scheduler's docstring).
OUTBOX_HOLD_SECONDS = float(os.environ.get("OUTBOX_HOLD_SECONDS", "0.1"))
# How often the scheduler looks for reviews past their task's due time (workflows/tasks.py).
OVERDUE_CHECK_SECONDS = float(os.environ.get("OVERDUE_CHECK_SECONDS", "300"))
# How long a dashboard answer is kept for the next reader of the same area, range and live
# sequence number (a change to the area's counters moves the number, so it is never stale for
# longer than it takes the live event to arrive); 0 turns it off.
DASHBOARD_CACHE_SECONDS = float(os.environ.get("DASHBOARD_CACHE_SECONDS", "30"))
# After this hour (province time) quarantined persons without a check-in today raise an alert.
TRACING_CHECKIN_DEADLINE_HOUR = int(os.environ.get("TRACING_CHECKIN_DEADLINE_HOUR", "20"))
# From this hour (province time) the scheduler has each top area's situation report of the day
# before made, once a day (reports/situation_jobs.py).
SITUATION_REPORT_HOUR = int(os.environ.get("SITUATION_REPORT_HOUR", "7"))
# Health declarations older than this many days have their personal data blanked by the
# scheduler every OVERDUE_CHECK_SECONDS, RETENTION_BATCH_SIZE at a time (tracing/retention.py).
HEALTH_DECLARATION_RETENTION_DAYS = int(os.environ.get("HEALTH_DECLARATION_RETENTION_DAYS", "30"))
RETENTION_BATCH_SIZE = int(os.environ.get("RETENTION_BATCH_SIZE", "500"))
CHANNEL_LAYERS = channel_layers_config(os.environ)
CACHES = caches_config(os.environ)

# --- Language and time ---------------------------------------------------------------------
# Vietnamese whatever the browser asks for: no LocaleMiddleware. Staff who prefer English
# choose it in their Wagtail account settings.
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
# Our own strings first (makemessages writes there), then hand-kept Vietnamese for
# Wagtail's admin, whose own vi catalogue is nearly empty.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_overrides"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

# --- Static and media ----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "static_collected"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Auth ----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "wagtailadmin_login"
# django-axes first: it refuses a locked-out username+IP before any password is checked.
AUTHENTICATION_BACKENDS = [
    "website.security.LoginAttemptsBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login lockout (django-axes): AXES_FAILURE_LIMIT failed logins of one username from one IP
# lock that pair out for AXES_COOLOFF_MINUTES; a success resets the count. Every login form
# (Wagtail's /admin/login/, /django-admin/) goes through django.contrib.auth, so all are covered.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "website.security.lockout_response"  # our page, 429, Retry-After
AXES_CLIENT_IP_CALLABLE = "website.security.login_client_ip"
# Only failures are kept (AccessAttempt); successful logins are the audit log's to record.
AXES_DISABLE_ACCESS_LOG = True
# Two-factor (TOTP) for everyone who can open the admin (website/two_factor.py): off in
# `make run`'s demo (dev.py) and in tests that do not test it; on in production.
ADMIN_2FA_REQUIRED = env_flag(os.environ, "ADMIN_2FA_REQUIRED", default=True)
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Outbreak Desk")

# --- Wagtail -------------------------------------------------------------------------------
WAGTAIL_SITE_NAME = "Outbreak Desk"
# Approved submissions are published by the workflow, not by the approver's own rights.
WAGTAIL_FINISH_WORKFLOW_ACTION = "workflows.finish.workflow_finish"
# Superusers would get an email for every submission that starts a workflow, whatever its
# area; reviewers find their work in their own inbox instead.
WAGTAILADMIN_NOTIFICATION_INCLUDE_SUPERUSERS = False
WAGTAILADMIN_BASE_URL = os.environ.get("WAGTAILADMIN_BASE_URL", "http://127.0.0.1:8000")
WAGTAIL_I18N_ENABLED = False
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
# Staff e-mail addresses are personal data: never send their hashes to an avatar service.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
# The dashboard would ask releases.wagtail.org for news from the staff's browsers: a request
# to a third party that the Content-Security-Policy (connect-src 'self') blocks anyway.
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "pdf", "xlsx", "zip"]
# A document's bytes must match its extension (website/security.py), and it is always served
# through Django as an attachment, never displayed in the site's origin (a PDF viewer runs scripts).
WAGTAILDOCS_DOCUMENT_FORM_BASE = "website.security.SafeDocumentForm"
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAILDOCS_INLINE_CONTENT_TYPES = []
# No SVG (it may carry scripts); Wagtail checks that the bytes are an image of the extension's type.
WAGTAILIMAGES_EXTENSIONS = ["gif", "jpg", "jpeg", "png", "webp"]
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# --- Submissions -------------------------------------------------------------------------------
# Largest JSON body a submission may have (photos travel separately as uploads).
SUBMISSION_MAX_BYTES = int(os.environ.get("SUBMISSION_MAX_BYTES", 256 * 1024))
# Admin listings export CSV and JSON streamed; an XLSX of up to this many rows is made in the
# request, a larger one in the background (forms_engine/export_builds.py), kept this many hours.
EXPORT_SYNC_MAX_ROWS = int(os.environ.get("EXPORT_SYNC_MAX_ROWS", 20000))
EXPORT_FILES_KEEP_HOURS = float(os.environ.get("EXPORT_FILES_KEEP_HOURS", "24"))
# Photos and files of form fields, sent before their submission.
UPLOAD_MAX_MB = int(os.environ.get("UPLOAD_MAX_MB", "10"))
# Bulk imports (forms_engine/imports.py): the largest file accepted, in bytes.
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", 50 * 1024 * 1024))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Images for guidance pages: the same cap as form photos, and no decompression bombs.
WAGTAILIMAGES_MAX_UPLOAD_SIZE = UPLOAD_MAX_MB * 1024 * 1024
WAGTAILIMAGES_MAX_IMAGE_PIXELS = 50_000_000
# (requests, seconds) per client IP for anonymous callers. Staff are identified, not throttled.
RATE_LIMITS = {
    "public-submit": (int(os.environ.get("PUBLIC_SUBMISSIONS_PER_MINUTE", "20")), 60),
    # Per QR place (its code), whatever the IP: one poster's URL replayed from many addresses.
    "public-place": (int(os.environ.get("PUBLIC_SUBMISSIONS_PER_PLACE_PER_MINUTE", "600")), 60),
    # Wrong or revoked bearer tokens per IP (forms_engine.api.caller and the ingest lane): past
    # it, the IP's API calls with a token are refused until the minute is over.
    "token-failures": (int(os.environ.get("API_TOKEN_FAILURES_PER_MINUTE", "30")), 60),
    "public-upload": (int(os.environ.get("PUBLIC_UPLOADS_PER_MINUTE", "20")), 60),
    "certificate-verify": (int(os.environ.get("CERTIFICATE_VERIFICATIONS_PER_MINUTE", "30")), 60),
}
# The ingest lane (forms_engine/ingest.py) takes bearer-token and anonymous submissions on
# PostgreSQL without Django's request path; each server process keeps its own pool of
# INGEST_POOL_SIZE connections for it, besides DB_POOL_MAX_SIZE for the rest.
INGEST_LANE = env_flag(os.environ, "INGEST_LANE", default=True)
INGEST_POOL_SIZE = int(os.environ.get("INGEST_POOL_SIZE", "8"))
# Seconds a submission waits for a free connection before the lane answers 503 (retry later).
INGEST_POOL_TIMEOUT = float(os.environ.get("INGEST_POOL_TIMEOUT", "10"))

# --- Maps ----------------------------------------------------------------------------------
# Tiles come from a tile server the province chooses; the maps still work without tiles.
MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "&copy; OpenStreetMap contributors")
GEO_WIDGET_LEAFLET_TILE_LAYER = MAP_TILE_URL
GEO_WIDGET_LEAFLET_TILE_LAYER_OPTIONS = {"attribution": MAP_TILE_ATTRIBUTION}
# Khánh Hòa's capital; any province sets its own centre.
GEO_WIDGET_DEFAULT_LOCATION = {
    "lat": float(os.environ.get("MAP_DEFAULT_LAT", "12.2388")),
    "lng": float(os.environ.get("MAP_DEFAULT_LNG", "109.1967")),
}
GEO_WIDGET_ZOOM = 9

# --- Content-Security-Policy (django-csp) -----------------------------------------------------
# Scripts only from our own origin or with the request's nonce; styles may be inline (Wagtail's
# admin and Leaflet set style attributes); images also from the tile server; WebSockets go to
# our own origin ('self' covers ws: and wss: of the same host in CSP 3).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:", *tile_origins(MAP_TILE_URL)],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "frame-ancestors": [SELF],  # Wagtail's page preview frames our own pages
        "worker-src": [SELF],
        "manifest-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    }
}
# Header values SecurityMiddleware does not set (website/security.py): no page of ours uses
# these features except the phones' location (geopoint fields) and camera (photo fields).
PERMISSIONS_POLICY = (
    "camera=(self), geolocation=(self), microphone=(), payment=(), usb=(), "
    "interest-cohort=(), browsing-topics=()"
)

# --- Hosts ---------------------------------------------------------------------------------
ALLOWED_HOSTS = env_list(os.environ, "ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list(os.environ, "CSRF_TRUSTED_ORIGINS")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # No phone number or citizen ID in the logs (audit/logging.py): on every handler.
    "filters": {"mask_personal": {"()": "audit.logging.PersonalDataFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_personal"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Wagtail runs its reference-index tasks in-process and logs each one at INFO.
        "django_tasks": {"level": "WARNING"},
        # WeasyPrint logs every rendering step at INFO.
        "weasyprint.progress": {"level": "WARNING"},
    },
}
