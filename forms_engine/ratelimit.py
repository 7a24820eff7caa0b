"""Fixed-window rate limits per client IP and per QR place, kept in the shared cache (Redis)."""

import functools
import time

from django.conf import settings
from django.core.cache import caches


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
    limit, window = settings.RATE_LIMITS[scope]
    now = int(time.time())
    window_start = now - now % window
    key = f"ratelimit:{scope}:{ip}:{window_start}"
    cache = counters()
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=window + 1)
        count = 1
    if count > limit:
        return max(1, window_start + window - now)
    return None


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
    limit, key, seconds_left = token_failures_window(ip)
    return seconds_left if (counters().get(key) or 0) >= limit else None


def token_failures_window(ip: str) -> tuple[int, str, int]:
    """(the limit, this window's counter key for ``ip``, seconds until the window ends)."""
    limit, window = settings.RATE_LIMITS["token-failures"]
    now = int(time.time())
    window_start = now - now % window
    return limit, f"ratelimit:token-failures:{ip}:{window_start}", max(1, window_start + window - now)


def token_failure_record(ip: str) -> None:
    rate_limit_hit(ip, scope="token-failures")
