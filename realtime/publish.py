"""The one way domain code pushes live events: ``publish_to_user`` now, area events with the
live-map issue. Callers inside a transaction publish from ``transaction.on_commit``."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def publish_to_user(user_id: int, event: dict) -> None:
    """Send ``event`` (JSON-able, with a "type") to every open page of one user."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(user_group(user_id), {"type": "live.event", "event": event})
