"""The one way domain code pushes live events: ``publish`` to an area (and every area above
it), ``publish_to_user`` to one user's open pages. Callers inside a transaction publish from
``transaction.on_commit``: a page must never show what was rolled back.

Live events are a convenience on top of the read API, not the record: each one carries its
group's sequence number, so a client that misses one (Redis hiccup, dropped line, full
buffer) sees a gap and refetches the snapshot. That is why a failure to send is logged and
swallowed here instead of failing the job that already committed its change.
"""

import asyncio
import hashlib
import logging
import os
import re
import threading
from collections import Counter

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.db import DatabaseError
from redis import RedisError

from . import sequence

logger = logging.getLogger(__name__)

MESSAGE_TYPE = "live.event"  # the consumer's ``live_event`` handler
# Channels accepts group names of ASCII letters, digits, "-", "_" and "." under 100 characters.
_GROUP_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,80}$")


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def area_group(area_code: str) -> str:
    """The Channels group of one area. Area codes are data: a code Channels would refuse gets
    a stable digest instead."""
    code = str(area_code)
    if _GROUP_SAFE.match(code):
        return f"area.{code}"
    return f"area.x{hashlib.sha1(code.encode()).hexdigest()}"  # noqa: S324 - a name, not a secret


def publish_to_user(user_id: int, event: dict) -> None:
    """Send ``event`` (JSON-able, with a "type") to every open page of one user."""
    layer = get_channel_layer()
    if layer is not None:
        _run(layer.group_send(user_group(user_id), {"type": MESSAGE_TYPE, "event": event}))


def publish(area, event: dict) -> dict[str, int]:
    """Send ``event`` (JSON-able, with a "type") to ``area``'s group and each ancestor's.

    ``area`` is a places.Area or its code. Each group's copy says which group it is for
    (``area``), that group's next sequence number (``seq``) and the event's own area
    (``origin``). Returns the sequence number used per area code ({} when nothing was sent).
    """
    return publish_many([(area, event)])[0]


def publish_many(events: list[tuple[object, dict]]) -> list[dict[str, int]]:
    """``publish`` for several (area, event) pairs at once: one trip to the channel layer for
    them all (a job's commit tells of every area it counted in; a trip costs an event loop
    and a connection). Returns each pair's sequence numbers by area code, as ``publish``."""
    if any(not event.get("type") for _area, event in events):
        raise ValueError("A live event needs a 'type'.")
    chains = {}
    for area, event in events:
        key = getattr(area, "pk", None) or str(area)
        if key not in chains:
            chains[key] = area_chain_codes(area)
        if not chains[key]:
            logger.warning("Live event %s for an unknown area %r not sent.", event["type"], area)
    wanted = [(chains[getattr(area, "pk", None) or str(area)], event) for area, event in events]
    try:
        seqs = _numbers([codes for codes, _event in wanted])
    except DatabaseError:
        logger.exception("Live events (%d) not sent: no sequence numbers.", len(events))
        return [{} for _pair in events]
    messages = [
        message
        for (codes, event), numbers in zip(wanted, seqs, strict=True)
        if codes
        for message in _messages(event, origin=codes[-1], seqs=numbers)
    ]
    try:
        if messages:
            _run(_send_all(messages))
    except (RedisError, OSError, TimeoutError):
        # The numbers are taken: clients see the gap in seq (or the hello after the layer came
        # back, or a reconnect) and refetch, so nothing is lost for good.
        logger.exception("Live events (%d) not sent.", len(events))
        return [{} for _pair in events]
    return seqs


def _numbers(chains: list[list[str]]) -> list[dict[str, int]]:
    """Each chain's next number per area, in the order of ``chains``, from one reservation."""
    counts = Counter(code for codes in chains for code in codes)
    last = sequence.reserve(counts)
    following = {code: last[code] - count + 1 for code, count in counts.items()}
    numbers = []
    for codes in chains:
        numbers.append({code: following[code] for code in codes})
        for code in codes:
            following[code] += 1
    return numbers


def area_chain_codes(area) -> list[str]:
    """The codes of ``area``'s ancestors from the top down, then its own; [] if unknown."""
    # realtime is imported while apps load; models only when an event is sent.
    from places.models import Area
    from places.selectors import area_ancestors

    if not isinstance(area, Area):
        area = Area.objects.filter(code=str(area)).only("path").first()
        if area is None:
            return []
    return list(area_ancestors(area=area, include_self=True).values_list("code", flat=True))


def _messages(event: dict, *, origin: str, seqs: dict[str, int]) -> list[tuple[str, dict]]:
    """One copy per group; the routing fields win over any the caller put in ``event``."""
    return [
        (
            area_group(code),
            {"type": MESSAGE_TYPE, "event": {**event, "area": code, "seq": seq, "origin": origin}},
        )
        for code, seq in seqs.items()
    ]


# channels_redis keeps its connections per event loop: ``async_to_sync`` would start a loop,
# and connect, for every publish (most of a publish's cost). Jobs publish from one loop that
# lives as long as their process. The in-memory layer (embedded mode) keeps async_to_sync:
# its queues belong to the web server's loop.
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None
_loop_lock = threading.Lock()
SEND_TIMEOUT_SECONDS = 10


def _run(coroutine) -> None:
    layer = get_channel_layer()
    if not isinstance(layer, RedisChannelLayer):
        async_to_sync(_await)(coroutine)
        return
    asyncio.run_coroutine_threadsafe(coroutine, _publishing_loop()).result(timeout=SEND_TIMEOUT_SECONDS)


async def _await(coroutine) -> None:
    await coroutine


def _publishing_loop() -> asyncio.AbstractEventLoop:
    """This process's publishing loop, in a daemon thread (again after a fork: threads do not
    survive one)."""
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():
            _loop, _loop_pid = asyncio.new_event_loop(), os.getpid()
            threading.Thread(target=_loop.run_forever, name="realtime-publish", daemon=True).start()
        return _loop


async def _send_all(messages: list[tuple[str, dict]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group, message in messages:
        try:
            await layer.group_send(group, message)
        except (RedisError, OSError):
            # After a Redis restart the first command on each pooled connection fails (the
            # pool cannot know the server went away); the second gets a fresh connection. A
            # Redis still down fails again, and the caller logs it.
            await layer.group_send(group, message)
