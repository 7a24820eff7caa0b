"""WebSocket consumers. ``LiveConsumer`` is filled in by the live-map issue."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

# Application close codes (4000-4999): the client tells "log in again" from a dropped line.
CLOSE_UNAUTHENTICATED = 4401


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Live events for the areas the user may see. Anonymous connections are refused."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.accept()
        await self.send_json({"type": "hello", "user": user.get_username()})
