from django.core.management.base import BaseCommand

from reports.rebuild import rebuild, rebuild_enqueue


class Command(BaseCommand):
    help = (
        "Recompute every daily counter of the dashboard and map from the source tables "
        "(accepted submissions, levels, quarantine orders, alerts). Safe while jobs run."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--enqueue", action="store_true", help="Run it as a job on the reports queue instead of here."
        )

    def handle(self, *args, enqueue, **options):
        if enqueue:
            job = rebuild_enqueue()
            self.stdout.write(self.style.SUCCESS(f"queued: job {job.id}"))
            return
        result = rebuild()
        self.stdout.write(self.style.SUCCESS(f"{result['rows']} counters rebuilt in {result['seconds']} s"))
