"""Production: every secret and host comes from the environment, with no default.

A missing SECRET_KEY, ALLOWED_HOSTS or CSRF_TRUSTED_ORIGINS stops start-up with an error
naming it, rather than running with an unsafe guess.
"""

import os

from .base import *  # noqa: F403
from .environment import env_flag, env_list, env_required

DEBUG = False
SECRET_KEY = env_required(os.environ, "SECRET_KEY")
env_required(os.environ, "ALLOWED_HOSTS")
env_required(os.environ, "CSRF_TRUSTED_ORIGINS")
ALLOWED_HOSTS = env_list(os.environ, "ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list(os.environ, "CSRF_TRUSTED_ORIGINS")

# HTTPS is terminated by the proxy in front of uvicorn (docs/deploy.md).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_flag(os.environ, "SECURE_SSL_REDIRECT", default=True)
# A health check may ask a web process directly over plain HTTP (website/health.py).
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
# Named here although they are Django's defaults, so that a reader sees the whole set
# (docs/security.md); Permissions-Policy and the Content-Security-Policy are in base.py.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # the phone pages read it to send X-CSRFToken
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Every admin role types a code from an authenticator app once per session (website/two_factor.py).
ADMIN_2FA_REQUIRED = env_flag(os.environ, "ADMIN_2FA_REQUIRED", default=True)
