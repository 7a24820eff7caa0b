"""The pipeline with its real processes: ``run_scheduler`` relays as events commit, RQ workers
(their own OS processes) run the jobs, and a worker killed mid-job loses nothing."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import RQScheduler

from forms_engine.models import Submission
from tests.asgi_client import AsgiClient
from tests.workflows import fault_handlers
from tests.workflows.conftest import burst
from workflows.models import Event, EventHandled
from workflows.outbox import relay_pending

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres")]

ROOT = Path(__file__).resolve().parents[2]
LOG = open(Path(tempfile.gettempdir()) / "outbreak-desk-process-tests.log", "ab")  # noqa: SIM115 - their output, kept for debugging
VALID = {"traveller": {"full_name": "Trần Thị Bình", "birth_year": 1990}, "direction": "out"}
SLOW = f"{fault_handlers.slow_count.__module__}.slow_count"
# The scheduler and the workers, each with the test's handler registered as an app's would be.
WITH_HANDLER = "import django; django.setup(); import tests.workflows.fault_handlers; "
SCHEDULER = WITH_HANDLER + "from django.core.management import call_command; call_command('run_scheduler')"
WORKER = (
    WITH_HANDLER + "from django.core.management import call_command; "
    "call_command('rqworker', 'default', 'tracing', 'reports', 'documents', "
    "worker_class='workflows.worker.DjangoSimpleWorker')"
)


def process_env() -> dict:
    """The test database and Redis, for processes started by the test."""
    params = connection.settings_dict
    host, port = params["HOST"] or "127.0.0.1", params["PORT"] or 5432
    url = f"postgres://{params['USER']}@{host}:{port}/{params['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "website.settings.test",
        "PYTHONPATH": str(ROOT),
    }


def start(*args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=process_env(),
        stdout=LOG,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: a kill reaches a forked work-horse too
    )


def stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        process.wait(timeout=20)


def kill_with_work_horses(process: subprocess.Popen) -> None:
    """SIGKILL a worker and the work-horses it forked (RQ puts each in a process group of its own)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    for pid in [process.pid, *map(int, children)]:
        os.kill(pid, signal.SIGKILL)
    process.wait(timeout=20)


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def submit(form, bearer):
    body = json.dumps({"client_id": str(uuid.uuid4()), "data": VALID})
    response = AsgiClient().post(
        f"/api/v1/forms/{form.slug}/submissions", body, content_type="application/json", **bearer
    )
    assert response.status_code == 201
    submission = Submission.objects.get(pk=response.json()["id"])
    return Event.objects.get(key=f"submission.accepted:{submission.form_id}:{submission.client_id}")


def test_the_scheduler_relays_as_events_commit_and_a_worker_runs_each_job_once(
    queues, checkpoint_form, bearer
):
    scheduler = start("-c", SCHEDULER)
    worker = start("-c", WORKER)
    try:
        events = [submit(checkpoint_form, bearer) for _ in range(5)]
        handled = lambda: EventHandled.objects.filter(event__in=events, handler=SLOW).count() == 5  # noqa: E731
        assert wait_for(handled), "the jobs did not run"
        assert wait_for(lambda: not Event.objects.filter(done_at=None).exists())
    finally:
        stop(scheduler)
        stop(worker)
    assert [int(fault_handlers.redis().get(f"test:attempts:{e.pk}")) for e in events] == [1] * 5
    latencies = [
        (h.handled_at - h.event.created_at).total_seconds() for h in EventHandled.objects.filter(handler=SLOW)
    ]
    assert max(latencies) < 10


def test_a_worker_killed_mid_job_leaves_the_job_retried_and_the_second_run_counts_once(
    queues, checkpoint_form, bearer
):
    redis = fault_handlers.redis()
    event = submit(checkpoint_form, bearer)
    redis.set("test:hang", 1)
    relay_pending()
    worker = start("-c", WORKER)
    try:
        assert wait_for(lambda: redis.get(f"test:attempts:{event.pk}") == b"1"), "the job did not start"
    finally:
        kill_with_work_horses(worker)  # mid-job: no clean-up, no exception handler, nothing committed
    assert not EventHandled.objects.filter(event=event, handler=SLOW).exists()

    # Past its heartbeat RQ counts the job abandoned; its retry comes back after the first
    # backoff interval (2 s), when RQ's scheduler puts it in the queue again.
    tracing = queues["tracing"]
    StartedJobRegistry(queue=tracing).cleanup(timestamp=time.time() + 3600)
    assert ScheduledJobRegistry(queue=tracing).count == 1
    time.sleep(2.2)
    scheduler = RQScheduler([tracing], connection=tracing.connection)
    scheduler.acquire_locks()
    scheduler.enqueue_scheduled_jobs()
    scheduler.release_locks()
    assert tracing.count == 1
    redis.delete("test:hang")
    burst()

    handled = EventHandled.objects.get(event=event, handler=SLOW)
    assert handled.result == {"client_id": event.payload["client_id"]}
    assert redis.get(f"test:attempts:{event.pk}") == b"2"
    relay_pending()  # a stray second relay after all that
    Event.objects.filter(pk=event.pk).update(relayed_at=None)
    relay_pending()
    burst()
    assert EventHandled.objects.filter(event=event, handler=SLOW).count() == 1
    assert redis.get(f"test:attempts:{event.pk}") == b"2"  # the handled job did no work again
