"""``manage.py run_scheduler``: relays the outbox to RQ as events commit, and sweeps.

It looks at the outbox every OUTBOX_POLL_SECONDS (20 ms): one indexed query that finds
nothing costs next to nothing, and the events committed meanwhile go out together, in one
job per handler. (PostgreSQL's LISTEN/NOTIFY would wake it sooner, but a NOTIFY in the
submission's transaction serialises commits and cost the ingest path a third of the
outbox's price: docs/benchmarks.md.) Every OUTBOX_SWEEP_SECONDS it sweeps
(workflows.outbox.sweep), and every OVERDUE_CHECK_SECONDS it tells the reviewers of overdue
reviews (workflows.tasks.overdue_notify). One per deployment is enough; more are safe (they
share the work through SKIP LOCKED). Redis down: it logs, keeps the events, tries again.
"""

import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from workflows.outbox import relay_pending, sweep
from workflows.tasks import overdue_notify

logger = logging.getLogger("workflows.scheduler")


class Command(BaseCommand):
    help = "Relay outbox events to the RQ queues as they commit, and sweep up missed ones."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One sweep, then exit.")

    def handle(self, *args, once=False, **options):
        if once:
            self.stdout.write(str(sweep()))
            return
        self.running = True
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        logger.info("scheduler: relaying the outbox every %s s", settings.OUTBOX_POLL_SECONDS)
        periodic = [(sweep, settings.OUTBOX_SWEEP_SECONDS), (overdue_notify, settings.OVERDUE_CHECK_SECONDS)]
        due_at = [0.0] * len(periodic)
        while self.running:
            self.safely(relay_pending)  # everything committed so far, in batches
            for index, (step, every) in enumerate(periodic):
                if time.monotonic() >= due_at[index]:
                    self.safely(step)
                    due_at[index] = time.monotonic() + every
            close_old_connections()
            time.sleep(settings.OUTBOX_POLL_SECONDS)

    def stop(self, *args):
        self.running = False

    def safely(self, step):
        try:
            return step()
        except Exception:  # the database was away: keep running, the next pass catches up
            logger.exception("scheduler: %s failed", step.__name__)
            close_old_connections()
            return None
