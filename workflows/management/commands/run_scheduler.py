"""``manage.py run_scheduler``: relays the outbox to RQ as events commit, and sweeps.

It looks at the outbox every OUTBOX_POLL_SECONDS (20 ms): one indexed query that finds
nothing costs next to nothing, and the events committed meanwhile go out together, in one
job per queue. (PostgreSQL's LISTEN/NOTIFY would wake it sooner, but a NOTIFY in the
submission's transaction serialises commits and cost the ingest path a third of the
outbox's price: docs/benchmarks.md.) While jobs wait for a worker, it holds new events back for
up to OUTBOX_HOLD_SECONDS (as Nagle's algorithm holds bytes while some are unacknowledged):
at a trickle each event goes out at once; under load they go out in fewer, larger jobs (a
batch handler does a hundred in the time of a few), and the workers' time goes to the
work, not to each job's fixed cost in RQ. Every OUTBOX_SWEEP_SECONDS it sweeps
(workflows.outbox.sweep), and every OVERDUE_CHECK_SECONDS it tells the reviewers of overdue
reviews (workflows.tasks.overdue_notify), and it calls what apps schedule with
``workflows.events.every`` (tracing: the day's missed quarantine check-ins). One
per deployment is enough; more are safe (they share the work through SKIP LOCKED). Redis
down: it logs, keeps the events, tries again.
"""

import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from redis.exceptions import RedisError

from workflows.events import periodic_steps
from workflows.outbox import jobs_waiting, relay_pending, sweep
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
        periodic = [
            (sweep, settings.OUTBOX_SWEEP_SECONDS),
            (overdue_notify, settings.OVERDUE_CHECK_SECONDS),
            *((step, getattr(settings, every)) for step, every in periodic_steps()),
        ]
        due_at = [0.0] * len(periodic)
        self.held_since = None
        while self.running:
            if not self.holding():
                self.safely(relay_pending)  # everything committed so far, in batches
            for index, (step, every) in enumerate(periodic):
                if time.monotonic() >= due_at[index]:
                    self.safely(step)
                    due_at[index] = time.monotonic() + every
            close_old_connections()
            time.sleep(settings.OUTBOX_POLL_SECONDS)

    def holding(self) -> bool:
        """Hold the relay while jobs wait for a worker, up to OUTBOX_HOLD_SECONDS at a time."""
        try:
            behind = jobs_waiting()
        except RedisError:
            behind = False  # relay_pending keeps the events and says Redis is down
        now = time.monotonic()
        if behind and (self.held_since is None or now - self.held_since < settings.OUTBOX_HOLD_SECONDS):
            self.held_since = self.held_since or now
            return True
        self.held_since = None
        return False

    def stop(self, *args):
        self.running = False

    def safely(self, step):
        try:
            return step()
        except Exception:  # the database was away: keep running, the next pass catches up
            logger.exception("scheduler: %s failed", step.__name__)
            close_old_connections()
            return None
