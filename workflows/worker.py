"""The RQ worker class of the Procfile: jobs in the worker's own process, fresh connections.

``rq.worker.SimpleWorker`` runs each job in its own process; RQ's default forks a work-horse
per job, which costs a Django process tens of milliseconds (36 jobs/s against 352 on the
bench machine: docs/benchmarks.md, pipeline). But a long-lived process keeps its database
connection from job to job, and nothing in RQ drops it when it breaks (PostgreSQL restarted,
a failover): every later job would fail until a restart. As Django does around each request,
this drops unusable or expired connections around each job; with ``CONN_MAX_AGE = 0`` the
connection goes back to the psycopg pool after each job.

    manage.py rqworker default tracing reports documents --worker-class workflows.worker.DjangoSimpleWorker
"""

from django.db import close_old_connections
from rq.worker import SimpleWorker


class DjangoSimpleWorker(SimpleWorker):
    def perform_job(self, job, queue, execution) -> bool:
        close_old_connections()
        try:
            return super().perform_job(job, queue, execution)
        finally:
            close_old_connections()
