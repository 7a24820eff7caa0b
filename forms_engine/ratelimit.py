"""Fixed-window rate limits per client IP and per QR place, kept in the shared cache (Redis)."""

import functools
import time

from django.conf import settings
from django.core.cache import caches

GUESSES_SCOPE = "token-failures"


@functools.cache
def counters():
    """One cache backend for the process's counters. ``django.core.cache.cache`` is one per
    thread and per async context, and each new one opens a new Redis connection: on the ingest
    lane, whose checks run in a pool of threads, that was a connection (and most of the time)
    for every submission. This one keeps a pool of connections for all of them."""
    return caches.create_connection("default")


def client_ip(request) -> str:
    # uvicorn's --proxy-headers already puts the proxy's X-Forwarded-For client in REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR") or "unknown"


def rate_limit_hit(ip: str, *, scope: str) -> int | None:
    """Count one request; seconds to wait when over the limit, else None."""
    limit, key, seconds_left = window_of(scope, ip)
    cache, timeout = counters(), settings.RATE_LIMITS[scope][1] + 1
    cache.add(key, 0, timeout=timeout)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=timeout)
        count = 1
    return seconds_left if count > limit else None


def window_of(scope: str, ip: str) -> tuple[int, str, int]:
    """(the limit, this window's counter key for ``ip``, seconds until the window ends)."""
    limit, window = settings.RATE_LIMITS[scope]
    now = int(time.time())
    window_start = now - now % window
    return limit, f"ratelimit:{scope}:{ip}:{window_start}", max(1, window_start + window - now)


def place_rate_limit_hit(qr_code: str, *, user) -> int | None:
    """Count one anonymous submission at a QR place; seconds to wait when over its limit, else None.

    A poster at a market is one URL that anyone can replay from many addresses: the per-IP limit
    alone would let a botnet flood one place's list of visitors (and its contact tracing) with
    invented people. Staff (session or bearer token) are identified and not counted here.
    """
    if not qr_code or getattr(user, "is_authenticated", False):
        return None
    return rate_limit_hit(qr_code, scope="public-place")


def token_failures_blocked(ip: str) -> int | None:
    """Seconds to wait when this IP sent too many unknown bearer tokens this window, else None.

    Only failures count (``token_failure_record``), so a phone with a good token is never slowed;
    an address guessing tokens is refused before its guesses are even looked up.
    """
    limit, key, seconds_left = window_of(GUESSES_SCOPE, ip)
    return seconds_left if (counters().get(key) or 0) >= limit else None


def token_failure_record(ip: str) -> None:
    rate_limit_hit(ip, scope=GUESSES_SCOPE)
