"""Fixtures for the outbox and the workflows: real Redis queues, a real RQ worker in burst mode."""

import pytest

from tests.forms_engine.conftest import bearer, checkpoint_form, home, officer  # noqa: F401
from website.settings.environment import QUEUE_NAMES
from workflows.events import SUBMISSION_ACCEPTED, handles, unregister
from workflows.queues import get_queue


@pytest.fixture
def queues(redis_url):
    """The RQ queues on the test Redis database, empty before and after the test."""
    connection = get_queue("default").connection
    connection.flushdb()
    yield {name: get_queue(name) for name in QUEUE_NAMES}
    connection.flushdb()


def burst():
    """Run every queued job with a real RQ worker (in this process: it sees the test database)."""
    from rq import SimpleWorker

    connection = get_queue("default").connection
    worker = SimpleWorker([get_queue(name) for name in QUEUE_NAMES], connection=connection)
    worker.work(burst=True, with_scheduler=False)


@pytest.fixture
def counting_handler(queues):
    """A handler of accepted submissions that counts its runs per event in Redis (outside any
    transaction, so a run that was rolled back still counts)."""
    connection = queues["default"].connection

    @handles(SUBMISSION_ACCEPTED, queue="tracing")
    def count_runs(event):
        connection.incr(f"test:runs:{event.pk}")
        return {"counted": event.pk}

    def runs(event) -> int:
        return int(connection.get(f"test:runs:{event.pk}") or 0)

    yield runs
    unregister(SUBMISSION_ACCEPTED, f"{count_runs.__module__}.{count_runs.__qualname__}")


@pytest.fixture
def redis_down(settings):
    """Every queue pointed at a Redis port nothing listens on, as if Redis were down."""
    settings.RQ_QUEUES = {
        name: {**config, "URL": "redis://127.0.0.1:1/0"} for name, config in settings.RQ_QUEUES.items()
    }
