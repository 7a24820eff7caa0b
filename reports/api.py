"""/api/v1/ endpoints of reports: the dashboard's numbers and the maps' layers, read from the
daily counters (selectors.py), never from submissions.

Authentication is the forms API's (bearer token, or the session). An area outside the
caller's area answers 404, never 403. ``/map/areas`` is public: counts per commune only.
Every answer carries the area's live sequence number (``seq``): a page applies the live
events after it and refetches when it sees a gap (realtime/).
"""

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from audit.services import access_record
from forms_engine.api import caller
from realtime import sequence

from . import selectors
from .selectors import BadRange

router = Router(tags=["reports"])


class Detail(Schema):
    detail: str


class RangeParams(Schema):
    area: str | None = Field(None, description="An area code (default: the caller's area).")
    from_: str | None = Field(None, alias="from", description="YYYY-MM-DD (default: 29 days before to).")
    to: str | None = Field(None, description="YYYY-MM-DD (default: today, province time).")


class MapParams(RangeParams):
    layers: str | None = Field(None, description="Comma-separated: f0, f1, quarantine (default f0).")


def not_logged_in():
    return Status(401, {"detail": _("Log in or send a bearer token.")})


def no_such_area():
    return Status(404, {"detail": str(selectors.NO_SUCH_AREA)})


@router.get(
    "/dashboard",
    response={200: dict, 400: Detail, 401: Detail, 404: Detail},
    summary="The dashboard's numbers for an area and a date range (default: your area, last 30 days)",
)
def dashboard(request, params: Query[RangeParams]):
    """Headline cards, a series a metric, totals by child area, facility occupancy and each
    checkpoint's passages on the last day, from the daily counters. Dates are YYYY-MM-DD in
    the province's time; ``from`` ≤ ``to``, at most 366 days (else 400). An area outside the
    caller's area: 404."""
    user, _token = caller(request)
    if not user.is_authenticated:
        return not_logged_in()
    try:
        days = selectors.range_parse(params.from_, params.to)
    except BadRange as error:
        return Status(400, {"detail": str(error)})
    place = selectors.area_for(user=user, code=params.area)
    if place is None:
        return no_such_area()
    return dashboard_snapshot(place, days)


def dashboard_snapshot(place, days) -> dict:
    """The dashboard's answer, kept for DASHBOARD_CACHE_SECONDS under the area's live sequence
    number read *before* the counters: a change committed meanwhile moves the number, so the
    next reader reads again, and a page that sees the event after ``seq`` refetches anyway.
    Leaders watching the same area then cost one read per change, not one each."""
    seq = sequence.current(place.code)
    seconds = settings.DASHBOARD_CACHE_SECONDS
    key = f"reports:dashboard:{place.code}:{days.start}:{days.end}:{seq}:{get_language()}"
    answer = cache.get(key) if seconds else None
    if answer is None:
        answer = {**selectors.dashboard(place, days), "seq": seq}
        if seconds:
            cache.set(key, answer, seconds)
    return answer


@router.get(
    "/map/cases",
    response={200: dict, 400: Detail, 401: Detail, 404: Detail},
    summary="GeoJSON of cases (and, with the right to view persons, contacts and quarantines)",
)
def map_cases(request, params: Query[MapParams]):
    """A FeatureCollection of points: F0s who became so in the range (``layers=f0``, always),
    F1s (``f1``) and active quarantines (``quarantine``) for callers who may view persons
    (left out silently otherwise). Properties: id, level, date, area, kind; no names."""
    user, _token = caller(request)
    if not user.is_authenticated:
        return not_logged_in()
    try:
        days = selectors.range_parse(params.from_, params.to)
        shown = selectors.layers_parse(params.layers, user=user)
    except BadRange as error:
        return Status(400, {"detail": str(error)})
    place = selectors.area_for(user=user, code=params.area)
    if place is None:
        return no_such_area()
    # The number first, then the data: the data then hold at least every event up to it (an
    # event is sent after its commit), so a page that applies the events after it misses none.
    seq = sequence.current(place.code)
    features = selectors.case_features(place, days, shown)
    # Points of persons (ids, levels, dates): a view of personal data, audited.
    access_record(
        request=request,
        user=user,
        action="view",
        kind="map_case",
        object_id=place.code,
        area=place,
        detail=f"features={len(features)}; layers={','.join(sorted(shown))}; {days.start}..{days.end}",
    )
    return {"type": "FeatureCollection", "features": features, "seq": seq}


@router.get(
    "/map/areas",
    response={200: dict, 400: Detail, 404: Detail},
    summary="Counts per commune (public: no person data), with each commune's outline or centroid",
)
def map_areas(request, params: Query[RangeParams]):
    """A FeatureCollection, a feature a commune of ``area`` (default: the province): its code,
    name and counts over the range; its imported boundary, else its centroid, else none."""
    try:
        days = selectors.range_parse(params.from_, params.to)
    except BadRange as error:
        return Status(400, {"detail": str(error)})
    place = selectors.public_area(params.area)
    if place is None:
        return no_such_area()
    seq = sequence.current(place.code)  # before the data, as in map_cases
    return {"type": "FeatureCollection", "features": selectors.area_features(place, days), "seq": seq}
