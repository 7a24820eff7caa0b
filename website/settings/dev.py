"""`make run` on a laptop: debug on, local hosts only, a fixed development key."""

import os

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS
from .environment import env_flag

DEBUG = True
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-never-use-in-production")
ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]"]
_port = os.environ.get("PORT", "8000")
CSRF_TRUSTED_ORIGINS = CSRF_TRUSTED_ORIGINS or [
    f"http://127.0.0.1:{_port}",
    f"http://localhost:{_port}",
]
# The demo users log in with their password only (README); production asks admin roles for a code.
ADMIN_2FA_REQUIRED = env_flag(os.environ, "ADMIN_2FA_REQUIRED", default=False)
