"""Per-area sequence numbers of live events.

Every event sent to an area's group carries that group's next number, so a client that
expected n+1 and got more knows it missed something and refetches the snapshot (whose
``seq`` comes from ``current``). The counters live where the channel layer lives: in Redis
when the layer is channels_redis (every web process and worker shares them), in this process
when the layer is the in-memory one of the embedded mode (which only this process can reach
anyway).

The names ``current`` and ``next`` are the public contract (``realtime.sequence.next`` shadows
the builtin only inside this module, which does not use it).
"""

import threading
from functools import cache

from django.conf import settings
from redis import Redis

KEY_PREFIX = "outbreak-desk:realtime:seq:"


def _key(area_code: str) -> str:
    return f"{KEY_PREFIX}{area_code}"


def _channel_layer_redis_url() -> str | None:
    """The Redis URL of the configured channels_redis layer, or None for any other layer."""
    layer = settings.CHANNEL_LAYERS.get("default", {})
    if not layer.get("BACKEND", "").startswith("channels_redis."):
        return None
    host = layer.get("CONFIG", {}).get("hosts", [None])[0]
    if isinstance(host, dict):
        host = host.get("address")
    return host if isinstance(host, str) else None


@cache
def _redis(url: str) -> Redis:
    """One client per URL and process; short timeouts so that Redis down fails fast."""
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)


class _InProcessCounters:
    """The embedded mode's counters: one process, several threads (ASGI, in-process jobs)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._values: dict[str, int] = {}

    def current(self, area_code: str) -> int:
        return self._values.get(area_code, 0)

    def next(self, area_code: str) -> int:
        with self._lock:
            value = self._values.get(area_code, 0) + 1
            self._values[area_code] = value
            return value

    def current_many(self, area_codes: list[str]) -> dict[str, int]:
        return {code: self.current(code) for code in area_codes}

    def next_many(self, area_codes: list[str]) -> dict[str, int]:
        return {code: self.next(code) for code in area_codes}


class _RedisCounters:
    """INCR is atomic across every process sharing the Redis database."""

    def __init__(self, url: str):
        self.redis = _redis(url)

    def current(self, area_code: str) -> int:
        return int(self.redis.get(_key(area_code)) or 0)

    def next(self, area_code: str) -> int:
        return int(self.redis.incr(_key(area_code)))

    def current_many(self, area_codes: list[str]) -> dict[str, int]:
        values = self.redis.mget([_key(code) for code in area_codes]) if area_codes else []
        return {code: int(value or 0) for code, value in zip(area_codes, values, strict=True)}

    def next_many(self, area_codes: list[str]) -> dict[str, int]:
        """One round trip for a publish to an area and all its ancestors."""
        pipeline = self.redis.pipeline(transaction=False)
        for code in area_codes:
            pipeline.incr(_key(code))
        return {code: int(value) for code, value in zip(area_codes, pipeline.execute(), strict=True)}


_in_process = _InProcessCounters()


def counters() -> _InProcessCounters | _RedisCounters:
    """The counters that match the configured channel layer (read at call time, so tests that
    override CHANNEL_LAYERS get the matching counters)."""
    url = _channel_layer_redis_url()
    return _RedisCounters(url) if url else _in_process


def current(area_code: str) -> int:
    """The number of the last event sent to ``area_code``'s group (0 before the first)."""
    return counters().current(str(area_code))


def next(area_code: str) -> int:  # the contract's name (shadows the builtin here only)
    """Take the number of the next event for ``area_code``'s group."""
    return counters().next(str(area_code))


def current_many(area_codes: list[str]) -> dict[str, int]:
    """``current`` for several areas at once (the hello message)."""
    return counters().current_many([str(code) for code in area_codes])


def next_many(area_codes: list[str]) -> dict[str, int]:
    """``next`` for several areas at once (a publish to an area and its ancestors)."""
    return counters().next_many([str(code) for code in area_codes])
