"""/ws/live/ on the real ASGI application and the configured channel layer."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from realtime.consumers import CLOSE_UNAUTHENTICATED
from website.asgi import application

ORIGIN = (b"origin", b"http://testserver")


def session_cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def open_socket(headers):
    communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


@pytest.mark.django_db(transaction=True)
def test_anonymous_is_refused():
    async def scenario():
        communicator, connected, code = await open_socket([ORIGIN])
        await communicator.disconnect()
        return connected, code

    assert async_to_sync(scenario)() == (False, CLOSE_UNAUTHENTICATED)


@pytest.mark.django_db(transaction=True)
def test_logged_in_user_is_accepted(make_user):
    cookie = session_cookie_for(make_user("lanhdao"))

    async def scenario():
        communicator, connected, _ = await open_socket([ORIGIN, (b"cookie", cookie)])
        hello = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return connected, hello

    connected, hello = async_to_sync(scenario)()
    assert connected
    # No area: no area group (deny by default), but the user's own notices still come.
    assert hello == {"type": "hello", "user": "lanhdao", "areas": {}}


@pytest.mark.django_db(transaction=True)
def test_foreign_origin_is_refused_even_with_a_session(make_user):
    cookie = session_cookie_for(make_user("lanhdao"))

    async def scenario():
        communicator, connected, _ = await open_socket(
            [(b"origin", b"https://evil.example"), (b"cookie", cookie)]
        )
        await communicator.disconnect()
        return connected

    assert async_to_sync(scenario)() is False


def test_channel_layer_carries_a_group_message():
    """The configured layer (channels_redis in CI) delivers to a group member."""

    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("area-test", channel)
        await layer.group_send("area-test", {"type": "live.event", "area": "56"})
        message = await layer.receive(channel)
        await layer.group_discard("area-test", channel)
        return message

    assert async_to_sync(scenario)() == {"type": "live.event", "area": "56"}
