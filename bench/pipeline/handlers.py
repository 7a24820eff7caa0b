"""The probe: a handler of accepted submissions that records when its job started.

Registered on the ``tracing`` queue (where the product's own tracing work will run), next to
the built-in ``workflows.handlers.submitter_notify`` on ``default``. Its result, kept on its
EventHandled row in the same transaction, holds three wall-clock instants (seconds since the
epoch, the same clock as PostgreSQL's ``clock_timestamp()`` on this machine):

- ``enqueued``: when the scheduler put the job in Redis (RQ's ``enqueued_at``);
- ``started``: when the RQ worker started the job that carries the event (RQ's ``started_at``,
  set just before it calls ``workflows.jobs.events_handle``);
- ``entered``: when this handler was entered for the event (after events_handle read the
  job's events and claimed this one's EventHandled marker, and, in a batch, after the events
  before it).

Each run, committed or not, also appends the event's id to the file ``BENCH_PIPELINE_RUNS_LOG``
names (outside the database and outside Redis, which the bench restarts without persistence),
so the bench can show that an event relayed twice was worked on once.
"""

import os
import time

from rq import get_current_job

from workflows.events import SUBMISSION_ACCEPTED, handles

RUNS_LOG = os.environ.get("BENCH_PIPELINE_RUNS_LOG", "")


@handles(SUBMISSION_ACCEPTED, queue="tracing")
def probe(event):
    entered = time.time()
    job = get_current_job()
    if RUNS_LOG:
        # O_APPEND: one short write per run is atomic, whichever worker process makes it.
        fd = os.open(RUNS_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{event.pk}\n".encode())
        finally:
            os.close(fd)
    return {
        "entered": entered,
        "started": job.started_at.timestamp() if job and job.started_at else None,
        "enqueued": job.enqueued_at.timestamp() if job and job.enqueued_at else None,
        "pid": os.getpid(),
    }
