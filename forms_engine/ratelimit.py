"""A fixed-window rate limit per client IP, kept in the shared cache (Redis in production)."""

import time

from django.conf import settings
from django.core.cache import cache


def client_ip(request) -> str:
    # uvicorn's --proxy-headers already puts the proxy's X-Forwarded-For client in REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR") or "unknown"


def rate_limit_hit(ip: str, *, scope: str) -> int | None:
    """Count one request; seconds to wait when over the limit, else None."""
    limit, window = settings.RATE_LIMITS[scope]
    now = int(time.time())
    window_start = now - now % window
    key = f"ratelimit:{scope}:{ip}:{window_start}"
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=window + 1)
        count = 1
    if count > limit:
        return max(1, window_start + window - now)
    return None
