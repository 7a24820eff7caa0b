from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reports.boundaries import BoundaryDataError, boundaries_load


class Command(BaseCommand):
    help = (
        "Load area outlines (a GeoJSON FeatureCollection of Polygons/MultiPolygons whose features "
        "carry the area's official code) for the map's choropleth. Re-running replaces them."
    )

    def add_arguments(self, parser):
        parser.add_argument("geojson", type=Path)
        parser.add_argument("--code-property", default="code", help="The property holding the area code.")

    def handle(self, *args, geojson, code_property, **options):
        try:
            result = boundaries_load(geojson, code_property=code_property)
        except BoundaryDataError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"{geojson.name}: {result['loaded']} outlines loaded"))
        if result["unknown"]:
            self.stdout.write(self.style.WARNING(f"unknown area codes: {', '.join(result['unknown'])}"))
