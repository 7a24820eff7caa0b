"""Area outlines from GeoJSON, for the choropleth: ``manage.py load_boundaries <file>``.

A FeatureCollection whose features carry the area's official code in a property (``code``
by default) and a Polygon or MultiPolygon geometry. Loading is an upsert by area: running it
again replaces the outlines, never duplicates them; features of unknown codes are reported.
"""

import json
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from places.models import Area

from .models import AreaBoundary

SHAPES = {"Polygon", "MultiPolygon"}


class BoundaryDataError(ValueError):
    pass


def boundaries_load(path: Path, *, code_property: str = "code") -> dict:
    """{"loaded": n, "unknown": [codes not in the area tree]}; BoundaryDataError if the file is
    not a FeatureCollection of polygons, and then nothing is loaded."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BoundaryDataError(_("Not a readable GeoJSON file: %(error)s") % {"error": error}) from error
    outlines = outlines_of(document, code_property)
    areas = dict(Area.objects.filter(code__in=outlines).values_list("code", "pk"))
    with transaction.atomic():
        for code, geometry in outlines.items():
            if code in areas:
                AreaBoundary.objects.update_or_create(
                    area_id=areas[code], defaults={"geometry": geometry, "source": Path(path).name[:200]}
                )
    return {"loaded": len(areas), "unknown": sorted(set(outlines) - set(areas))}


def outlines_of(document, code_property: str) -> dict[str, dict]:
    """{area code: geometry} of a FeatureCollection, checked before anything is written."""
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise BoundaryDataError(_("The file is not a GeoJSON FeatureCollection."))
    outlines = {}
    for number, feature in enumerate(document.get("features") or [], start=1):
        properties = (feature or {}).get("properties") or {}
        geometry = (feature or {}).get("geometry") or {}
        code = str(properties.get(code_property) or "").strip()
        if not code:
            raise BoundaryDataError(
                _("Feature %(number)s has no “%(property)s” property.")
                % {"number": number, "property": code_property}
            )
        if geometry.get("type") not in SHAPES or not isinstance(geometry.get("coordinates"), list):
            raise BoundaryDataError(
                _("Feature %(number)s (%(code)s) is not a Polygon or MultiPolygon.")
                % {"number": number, "code": code}
            )
        outlines[code] = {"type": geometry["type"], "coordinates": geometry["coordinates"]}
    return outlines
