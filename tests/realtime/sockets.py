"""Open /ws/live/ on the real ASGI application as a logged-in user."""

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from realtime import publish
from website.asgi import application

ORIGIN = (b"origin", b"http://testserver")


def headers_for(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return [ORIGIN, (b"cookie", cookie.encode())]


async def connected(headers) -> tuple[WebsocketCommunicator, dict]:
    """An open socket and its hello message."""
    communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
    ok, _ = await communicator.connect()
    assert ok
    return communicator, await communicator.receive_json_from(timeout=5)


async def publish_async(area, event) -> dict:
    """``publish`` is called from sync code (on_commit of a job); run it so from a test."""
    return await sync_to_async(publish)(area, event)
