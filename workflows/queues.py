"""RQ queues: on Redis when ``REDIS_URL`` is set, else synchronous and in-process.

RQ stores a job in Redis even when it runs it at once, so the embedded default gives the
synchronous queues one in-process fakeredis connection (settings mark them ``ASYNC: False``).
Code enqueues through ``get_queue`` and never needs to know which one it got.
"""

from functools import cache

import django_rq
from django.conf import settings
from rq import Queue


@cache
def _in_process_connection():
    import fakeredis

    return fakeredis.FakeRedis()


def get_queue(name: str = "default") -> Queue:
    if settings.RQ_QUEUES[name].get("ASYNC", True):
        return django_rq.get_queue(name)
    return django_rq.get_queue(name, connection=_in_process_connection(), is_async=False)
