"""WSGI entry point, for tools that want one; the product is served over ASGI (asgi.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "website.settings.dev")
application = get_wsgi_application()
