"""RQ queues: on Redis when ``REDIS_URL`` is set, else synchronous and in-process.

RQ stores a job in Redis even when it runs it at once, so the embedded default gives the
synchronous queues one in-process fakeredis connection (settings mark them ``ASYNC: False``).
Code enqueues through ``get_queue`` and never needs to know which one it got.
"""

from functools import cache

import django_rq
from django.conf import settings
from redis import Redis
from rq import Queue


@cache
def _in_process_connection():
    import fakeredis

    return fakeredis.FakeRedis()


@cache
def _redis(url: str) -> Redis:
    """One client (and connection pool) per Redis URL and process: django_rq.get_queue would
    open a new one on every call. Short timeouts: Redis down must not hang a request."""
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30)


def get_queue(name: str = "default") -> Queue:
    config = settings.RQ_QUEUES[name]
    if not config.get("ASYNC", True):
        return django_rq.get_queue(name, connection=_in_process_connection(), is_async=False)
    return django_rq.get_queue(name, connection=_redis(config["URL"]))


def queues_are_synchronous() -> bool:
    """True in the embedded default: jobs run in the process that enqueues them."""
    return not settings.RQ_QUEUES["default"].get("ASYNC", True)
