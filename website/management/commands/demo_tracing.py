import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from website.demo.tracing import DEFAULT_PEOPLE, DEFAULT_SEED, demo_tracing_run, scenario_day


class Command(BaseCommand):
    help = (
        "Generate the demo's tracing scenario (people, declarations, vaccinations, arrivals, an "
        "industrial-park cluster, check-ins) through the forms' own services. Run load_demo first. "
        "Deterministic and safe to run again: the same seed adds nothing the second time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Decides every record.")
        parser.add_argument("--people", type=int, default=DEFAULT_PEOPLE, help="How many people live there.")
        parser.add_argument(
            "--today",
            help="The scenario's day (YYYY-MM-DD); by default the day of this seed's first run, else today.",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="Do nothing if this seed's scenario is already there (make run's first demo load).",
        )

    def handle(self, *args, **options):
        today = parse_date(options["today"]) if options["today"] else None
        if options["today"] and today is None:
            raise CommandError("--today takes a date as YYYY-MM-DD.")
        try:
            if options["once"] and scenario_day(seed=options["seed"]) is not None:
                self.stdout.write("Demo tracing scenario already loaded.")
                return
            started = time.monotonic()
            outcome = demo_tracing_run(
                seed=options["seed"], people=options["people"], today=today, log=self.stdout.write
            )
        except (LookupError, ValueError) as error:  # no demo loaded; a record the form refuses
            raise CommandError(str(error)) from error
        self.stdout.write(f"created: {dict(outcome.created)}")
        if outcome.replayed:
            self.stdout.write(f"already there: {sum(outcome.replayed.values())} records")
        self.stdout.write(f"workflow steps approved: {outcome.approved}")
        if outcome.conflicts:
            self.stdout.write(
                self.style.WARNING(
                    f"{len(outcome.conflicts)} records differ from what an earlier run stored under the "
                    "same name (another --today or form version); they were left as they were."
                )
            )
        if outcome.waiting:
            self.stdout.write(
                self.style.WARNING(f"still in review (no demo approver could act): {outcome.waiting}")
            )
        self.stdout.write(
            self.style.SUCCESS(f"Demo tracing scenario ready in {time.monotonic() - started:.0f} s.")
        )
