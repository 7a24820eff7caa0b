"""``GET /health/``: whether this web process can serve, for the proxy or orchestrator in front
of it (docs/deploy.md).

503 only when the database cannot be reached: without it nothing works. Redis is reported but
never fails the check: every process shares the one Redis, so taking processes out of the
proxy's rotation would not help, and without Redis submissions are still stored (the outbox
relays their jobs when it is back) while live pages wait for it. The answer names no host,
version or error text: anyone may ask.
"""

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from redis import RedisError

OK = "ok"
DOWN = "down"
NOT_USED = "not used"


@never_cache
@require_safe
def health(request):
    checks = {"database": database_state(), "redis": redis_state()}
    status = 200 if checks["database"] == OK else 503
    return JsonResponse({"status": OK if status == 200 else DOWN, **checks}, status=status)


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return DOWN
    return OK


def redis_state() -> str:
    """The shared cache is on REDIS_URL with the queues and the channel layer."""
    client = getattr(cache, "_cache", None)
    if client is None or not hasattr(client, "get_client"):
        return NOT_USED  # the embedded mode's local-memory cache
    try:
        client.get_client(write=False).ping()
    except (RedisError, OSError):
        return DOWN
    return OK
