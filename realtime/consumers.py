"""WebSocket consumers: ``LiveConsumer`` at /ws/live/.

What the server sends (JSON):
- ``{"type": "hello", "user": ..., "areas": {"<code>": <seq>}}`` on connect: the area groups
  joined (the root of the user's scope) and each one's current sequence number;
- ``{"type": "subscribed", "areas": {"<code>": <seq>}}`` / ``{"type": "unsubscribed",
  "area": "<code>"}`` in answer to ``{"subscribe": "<code>"}`` / ``{"unsubscribe": "<code>"}``;
- ``{"type": "error", "reason": ..., "message": <translated>, ...the request}`` when a
  request is refused (an area outside the scope reads as unknown, as the API's 404 does);
- every event ``realtime.publish`` sends to a joined group (with ``area``, ``seq``,
  ``origin``), and every notice sent to the user;
- a hello again, with the same areas and their current numbers, when the channel layer lost
  Redis and got it back (realtime/layers.py): events sent meanwhile did not arrive, and a
  client behind those numbers refetches its snapshot, as after a reconnect.

Subscriptions add up: a page that drills down from the province to a district subscribes to
the district, and unsubscribes from the province if it no longer wants its events. Each copy
says which group it came through (``area``), so a client keeps one seq per area.
"""

import asyncio
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from redis import RedisError
from wagtail.users.models import UserProfile

from places.selectors import areas_visible_to, scope_roots

from . import sequence
from .publish import area_group, user_group

logger = logging.getLogger(__name__)

# Application close codes (4000-4999): the client tells "log in again" from a dropped line.
CLOSE_UNAUTHENTICATED = 4401
# The channel layer cannot reach Redis: WebSocket's "try again later"; the client reconnects.
CLOSE_TRY_AGAIN_LATER = 1013
# A page needs a few areas at once (its own, the one it drilled into); more is a runaway client.
MAX_AREAS_PER_SOCKET = 20
AREA_CODE_MAX_LENGTH = 32  # places.Area.code

REASON_BAD_REQUEST = "bad_request"
REASON_UNKNOWN_AREA = "unknown_area"
REASON_TOO_MANY_AREAS = "too_many_areas"
REASON_UNAVAILABLE = "unavailable"
NOT_JSON_OBJECT = _('Send a JSON object such as {"subscribe": "<area code>"}.')
UNKNOWN_REQUEST = _('Unknown request: use "subscribe" or "unsubscribe".')
BAD_AREA_CODE = _("An area code is a short text.")
TOO_MANY_AREAS = _("Too many areas on one connection.")
# The same answer for an area that does not exist and one outside the scope (as the API's 404).
UNKNOWN_AREA = _("No such area in your scope.")
LIVE_UNAVAILABLE = _("Live updates are paused for a moment; ask again shortly.")


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Live events for the user (decisions on their submissions, alerts) and for the areas of
    their scope. Anonymous connections are refused."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.language, root_codes = await database_sync_to_async(_user_language_and_roots)(user)
        self.user_channel_group = user_group(user.pk)
        self.area_codes: list[str] = []
        try:
            await self.channel_layer.group_add(self.user_channel_group, self.channel_name)
            await self.accept()
            areas = await self._join_areas(root_codes)
        except (RedisError, OSError):
            logger.warning("Live socket refused for now: the channel layer cannot reach Redis.")
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        await self.send_json({"type": "hello", "user": user.get_username(), "areas": areas})
        self.membership_refresh = asyncio.create_task(self._refresh_memberships())

    async def disconnect(self, code):
        if getattr(self, "membership_refresh", None):
            self.membership_refresh.cancel()
        groups = [area_group(code) for code in getattr(self, "area_codes", [])]
        if hasattr(self, "user_channel_group"):
            groups.append(self.user_channel_group)
        try:
            for group in groups:
                await self.channel_layer.group_discard(group, self.channel_name)
        except (RedisError, OSError):
            pass  # Redis is down: its memberships expire (group_expiry), or went with it

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """JSON requests only; anything else gets an error, not a dropped connection."""
        try:
            content = json.loads(text_data) if text_data else None
        except ValueError:
            content = None
        if not isinstance(content, dict):
            await self._refuse(REASON_BAD_REQUEST, NOT_JSON_OBJECT)
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        if "subscribe" in content:
            await self.subscribe(content["subscribe"])
        elif "unsubscribe" in content:
            await self.unsubscribe(content["unsubscribe"])
        else:
            await self._refuse(REASON_BAD_REQUEST, UNKNOWN_REQUEST)

    async def subscribe(self, area_code):
        if not _looks_like_area_code(area_code):
            await self._refuse(REASON_BAD_REQUEST, BAD_AREA_CODE)  # not echoed: it may be huge
            return
        request = {"subscribe": area_code}
        if area_code not in self.area_codes and len(self.area_codes) >= MAX_AREAS_PER_SOCKET:
            await self._refuse(REASON_TOO_MANY_AREAS, TOO_MANY_AREAS, **request)
            return
        if not await database_sync_to_async(_area_visible)(self.scope["user"], area_code):
            await self._refuse(REASON_UNKNOWN_AREA, UNKNOWN_AREA, **request)
            return
        try:
            areas = await self._join_areas([area_code])
        except (RedisError, OSError):
            # Not joined: the hello that follows Redis' return lists the areas without it,
            # and the client asks again (live.js ensureJoined).
            await self._refuse(REASON_UNAVAILABLE, LIVE_UNAVAILABLE, **request)
            return
        await self.send_json({"type": "subscribed", "areas": areas})

    async def unsubscribe(self, area_code):
        if not _looks_like_area_code(area_code):
            await self._refuse(REASON_BAD_REQUEST, BAD_AREA_CODE)
            return
        if area_code in self.area_codes:
            self.area_codes.remove(area_code)
            await self.channel_layer.group_discard(area_group(area_code), self.channel_name)
        await self.send_json({"type": "unsubscribed", "area": area_code})

    async def live_event(self, message):
        await self.send_json(message["event"])

    async def layer_reconnected(self, message):
        """The layer had lost Redis and joined this socket's groups again: whatever was sent
        meanwhile is lost, so say where each area is now (realtime/layers.py)."""
        areas = await database_sync_to_async(sequence.current_many)(self.area_codes)
        await self.send_json({"type": "hello", "user": self.scope["user"].get_username(), "areas": areas})

    async def _join_areas(self, area_codes: list[str]) -> dict[str, int]:
        """Join the groups first, then read the seqs: an event sent in between arrives with a
        seq the client already knows and is skipped, rather than being missed unnoticed."""
        for area_code in area_codes:
            if area_code not in self.area_codes:
                await self.channel_layer.group_add(area_group(area_code), self.channel_name)
                self.area_codes.append(area_code)
        return await database_sync_to_async(sequence.current_many)(area_codes)

    async def _refresh_memberships(self):
        """The layer forgets a group member after ``group_expiry`` (a crashed server cannot say
        goodbye); a wall-mounted dashboard stays open for days, so it joins again in time."""
        interval = max(1.0, getattr(self.channel_layer, "group_expiry", 86400) / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                for group in [self.user_channel_group, *map(area_group, self.area_codes)]:
                    await self.channel_layer.group_add(group, self.channel_name)
            except (RedisError, OSError):
                logger.warning("Could not renew live groups of %s; trying again later.", self.channel_name)

    async def _refuse(self, reason: str, message, **request):
        with translation.override(self.language):
            text = str(message)
        await self.send_json({"type": "error", "reason": reason, "message": text, **request})


def _looks_like_area_code(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= AREA_CODE_MAX_LENGTH


def _user_language_and_roots(user) -> tuple[str, list[str]]:
    """The user's admin language (Wagtail account setting) and the codes of the top areas of
    their scope: their own area, every top-level area for a superuser, none without a scope."""
    profile = UserProfile.objects.filter(user=user).first()  # get_for_user would create one
    language = (profile and profile.preferred_language) or settings.LANGUAGE_CODE
    return language, [area.code for area in scope_roots(user=user)]


def _area_visible(user, area_code: str) -> bool:
    return areas_visible_to(user=user).filter(code=area_code).exists()
