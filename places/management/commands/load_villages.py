from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from places.loaders import AreaDataError, load_villages_csv


class Command(BaseCommand):
    help = (
        "Load villages and residential groups from a CSV with the columns "
        "parent_code, code, name, level_label. Re-running updates; it never duplicates."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_file", type=Path)

    def handle(self, *args, csv_file, **options):
        try:
            result = load_villages_csv(csv_file)
        except (AreaDataError, OSError, UnicodeDecodeError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"{csv_file.name}: {result}"))
