"""``manage.py retention_run``: anonymise the health declarations past retention now.

The scheduler does the same every OVERDUE_CHECK_SECONDS (tracing/retention.py); this runs
every batch until none is due, e.g. after HEALTH_DECLARATION_RETENTION_DAYS was shortened.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from tracing.retention import retention_run


class Command(BaseCommand):
    help = "Anonymise the personal data of health declarations older than the retention period."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=settings.RETENTION_BATCH_SIZE)

    def handle(self, *args, batch_size, **options):
        counts = retention_run(batch_size=batch_size)
        self.stdout.write(" ".join(f"{key}={value}" for key, value in counts.items()))
