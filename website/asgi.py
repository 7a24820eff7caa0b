"""One ASGI application for HTTP and WebSocket, served by uvicorn.

``/ws/`` goes to the realtime app behind session auth, an Origin check against ALLOWED_HOSTS
(a page on another site cannot open a socket with our cookies) and, for admin roles, the
second factor of the session (website/two_factor.py); submissions
the ingest lane can take (forms_engine/ingest.py) go to it; everything else goes to Django.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "website.settings.dev")
# Django must be set up before the routing imports consumers and models.
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from forms_engine.ingest import SubmissionLane, pools_close  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402
from website.two_factor import WebSocketTwoFactorGuard  # noqa: E402


async def lifespan(scope, receive, send):
    """Server start and stop: on stop, close the ingest lane's database connections."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await pools_close()
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter(
    {
        "lifespan": lifespan,
        # Submissions by token or from public forms skip Django's request path on PostgreSQL.
        "http": SubmissionLane(django_application),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(WebSocketTwoFactorGuard(URLRouter(websocket_urlpatterns)))
        ),
    }
)
