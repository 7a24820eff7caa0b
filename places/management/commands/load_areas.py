from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from places.loaders import AreaDataError, load_areas_file, package_data_path


class Command(BaseCommand):
    help = (
        "Load provinces, districts and communes from the vietnam-provinces package (or a file "
        "of the same shape, 3-level or 2-level). Re-running updates; it never duplicates."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--province",
            help="Official code or name of one province (e.g. 56 or 'Khánh Hòa'); all if omitted.",
        )
        parser.add_argument(
            "--file",
            type=Path,
            help="A nested-divisions JSON file; defaults to the installed package's data.",
        )

    def handle(self, *args, province=None, file=None, **options):
        path = file or package_data_path()
        try:
            result = load_areas_file(path, province=province)
        except (AreaDataError, OSError, ValueError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"{path.name}: {result}"))
