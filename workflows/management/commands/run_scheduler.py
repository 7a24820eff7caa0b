"""``manage.py run_scheduler``: relays the outbox to RQ as events commit, and sweeps.

One per deployment is enough; more are safe (they share the work through SKIP LOCKED). On
PostgreSQL it LISTENs on the ``outbox`` channel, so an event is relayed within milliseconds of
its commit; elsewhere it polls every OUTBOX_POLL_SECONDS. Every OUTBOX_SWEEP_SECONDS it
sweeps (workflows.outbox.sweep), and every OVERDUE_CHECK_SECONDS it tells the reviewers of
overdue reviews (workflows.tasks.overdue_notify). Redis down: it logs, keeps the events, and
tries again.
"""

import logging
import signal
import time

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections

from workflows.outbox import NOTIFY_CHANNEL, relay_pending, sweep
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
        listener = self.listen()
        logger.info("scheduler: relaying the outbox (%s)", "LISTEN" if listener else "polling")
        periodic = [(sweep, settings.OUTBOX_SWEEP_SECONDS), (overdue_notify, settings.OVERDUE_CHECK_SECONDS)]
        due_at = [0.0] * len(periodic)
        while self.running:
            self.safely(relay_pending)
            for index, (step, every) in enumerate(periodic):
                if time.monotonic() >= due_at[index]:
                    self.safely(step)
                    due_at[index] = time.monotonic() + every
            close_old_connections()
            listener = self.wait(listener)

    def stop(self, *args):
        self.running = False

    def listen(self):
        """A connection of its own that PostgreSQL notifies on each committed event."""
        if connections["default"].vendor != "postgresql":
            return None
        try:
            params = connections["default"].get_connection_params()
            params.pop("cursor_factory", None)
            params.pop("context", None)
            listener = psycopg.connect(**params, autocommit=True)
            listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            return listener
        except psycopg.Error as error:
            logger.warning("scheduler: cannot LISTEN, polling instead: %s", error)
            return None

    def wait(self, listener):
        """Until an event commits (or a poll interval passes); the listener to use next."""
        timeout = settings.OUTBOX_POLL_SECONDS
        if listener is None:
            time.sleep(timeout)
            return self.listen() if connections["default"].vendor == "postgresql" else None
        try:
            for _ in listener.notifies(timeout=timeout, stop_after=1):
                pass
            return listener
        except psycopg.Error as error:
            logger.warning("scheduler: lost the LISTEN connection: %s", error)
            listener.close()
            return None

    def safely(self, step):
        try:
            step()
        except Exception:  # the database was away: keep running, the next pass catches up
            logger.exception("scheduler: %s failed", step.__name__)
            close_old_connections()
