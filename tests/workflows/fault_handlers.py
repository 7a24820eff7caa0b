"""A handler for the fault tests, imported by the test and by the worker processes they start.

It counts its attempts in Redis (outside any transaction) and, while the key ``test:hang`` is
set, hangs mid-job so that the test can kill its worker.
"""

import os
import time

from redis import Redis

from workflows.events import SUBMISSION_ACCEPTED, handles


def redis() -> Redis:
    return Redis.from_url(os.environ["REDIS_URL"])


@handles(SUBMISSION_ACCEPTED, queue="tracing")
def slow_count(event):
    connection = redis()
    connection.incr(f"test:attempts:{event.pk}")
    while connection.get("test:hang"):
        time.sleep(0.1)
    return {"client_id": event.payload["client_id"]}
