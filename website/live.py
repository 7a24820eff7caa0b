"""What the live pages (map, dashboard, public map) hand to their scripts.

The pages themselves hold no numbers: their scripts read the reports API and follow the
WebSocket. The server decides only what the scripts may ask for — the area (always inside
the user's scope: outside it is 404, as in the API), the date range, the layers the user
may see — and the translated labels, since no user-facing text is written in JavaScript.
"""

from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from places.models import Area, Place
from places.selectors import area_ancestors, area_scope, areas_visible_to, scope_queryset, user_area
from reports import selectors as reports_selectors

# The reports API's rules and messages for a range (reports/selectors.range_parse).
MAX_RANGE_DAYS = reports_selectors.MAX_DAYS
# The public map has no socket (no login): it reads the counts again this often.
PUBLIC_REFRESH_SECONDS = 60

ERROR_NO_AREA = gettext_lazy("Your account has no area yet: ask your area's IT team to set one.")
ERROR_BAD_DATE = reports_selectors.BAD_DATE
ERROR_RANGE_REVERSED = reports_selectors.FROM_AFTER_TO
ERROR_RANGE_TOO_LONG = reports_selectors.RANGE_TOO_LONG

# Places the map shows: where travellers pass and where people are quarantined.
MAP_PLACE_KINDS = (Place.KIND_CHECKPOINT, Place.KIND_QUARANTINE_FACILITY)

# Permission that lets a user see persons (F1 contacts, quarantine) on the map and open a case.
VIEW_PERSONS = "tracing.view_person"


class LiveRequestError(Exception):
    """A request the page answers with a message instead of the page (400 or 403)."""

    def __init__(self, message, *, status: int):
        super().__init__(str(message))
        self.message = message
        self.status = status


@dataclass
class LiveView:
    """The area and dates one request of a live page opens on."""

    area: Area
    trail: list[Area]  # from the top of what the user may see down to ``area``
    date_from: date
    date_to: date
    children: list[Area] = field(default_factory=list)


def scope_root(*, user) -> Area:
    """Where a user's live pages open by default: their own area (the province for a superuser
    without one). Raises ``LiveRequestError`` (403) for a user who may see no area."""
    scope = area_scope(user=user)
    if isinstance(scope, Area):
        return scope
    if scope is True:
        root = user_area(user=user) or Area.get_root_nodes().first()
        if root is not None:
            return root
    raise LiveRequestError(ERROR_NO_AREA, status=403)


def area_for(*, user, requested_code: str | None, default_area: Area | None) -> Area:
    """The area asked for in the URL (404 outside scope), else the page's default when the user
    may see it, else the user's own area."""
    visible = areas_visible_to(user=user)
    root = scope_root(user=user)
    if requested_code:
        area = visible.filter(code=str(requested_code)[:32]).first()
        if area is None:
            raise Http404(_("No such area in yours."))
        return area
    if default_area is not None and visible.filter(pk=default_area.pk).exists():
        return default_area
    return root


def trail_for(*, user, area: Area) -> list[Area]:
    """The chain of areas above ``area`` that the user may see, for the breadcrumb."""
    root = scope_root(user=user)
    chain = area_ancestors(area=area, include_self=True)
    return [a for a in chain if a.path.startswith(root.path)] or [area]


def date_range(*, query, days: int) -> tuple[date, date]:
    """``from``/``to`` of the query string, else the last ``days`` days to today (local)."""
    try:
        dates = reports_selectors.range_parse(query.get("from"), query.get("to"), days=days)
    except reports_selectors.BadRange as error:
        raise LiveRequestError(error.args[0], status=400) from None
    return dates.start, dates.end


def live_view(*, request, default_area: Area | None, days: int) -> LiveView:
    """Everything a staff live page opens on, checked against the user's scope."""
    user = request.user
    area = area_for(user=user, requested_code=request.GET.get("area"), default_area=default_area)
    date_from, date_to = date_range(query=request.GET, days=days)
    children = list(Area.objects.filter(path__startswith=area.path, depth=area.depth + 1).order_by("name"))
    return LiveView(area, trail_for(user=user, area=area), date_from, date_to, children)


# --- What the scripts receive ---------------------------------------------------------------


def api_urls() -> dict[str, str]:
    """The read API's endpoints (reports/api.py), from the mounted API's root."""
    root = reverse("api-v1:api-root")
    return {
        "dashboard": f"{root}dashboard",
        "cases": f"{root}map/cases",
        "areas": f"{root}map/areas",
    }


def area_json(area: Area) -> dict:
    return {"code": area.code, "name": area.name, "level_label": area.level_label}


def map_places(*, user) -> list[dict]:
    """Checkpoints and quarantine facilities of the user's scope that have a point. All of them,
    not the page's area only: the map stays one map while the user drills down and back."""
    places = scope_queryset(
        Place.objects.filter(kind__in=MAP_PLACE_KINDS, is_active=True), user=user
    ).exclude(location="")
    return [
        {
            "code": place.code,
            "name": place.name,
            "kind": place.kind,
            "capacity": place.capacity,
            "lat": place.latitude,
            "lng": place.longitude,
        }
        for place in places.order_by("name")
    ]


def person_url_template(user) -> str:
    """The admin page of a person with ``{id}`` in place of the id, for users who may open it."""
    if not user.has_perm(VIEW_PERSONS):
        return ""
    try:
        return reverse("persons:inspect", args=[0]).replace("/0/", "/{id}/")
    except NoReverseMatch:
        return ""


def tiles() -> dict:
    """The tile layer (``MAP_TILE_URL``); an empty URL means a plain background, no tiles."""
    return {
        "url": getattr(settings, "MAP_TILE_URL", ""),
        "attribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
        "center": [settings.GEO_WIDGET_DEFAULT_LOCATION["lat"], settings.GEO_WIDGET_DEFAULT_LOCATION["lng"]],
        "zoom": getattr(settings, "GEO_WIDGET_ZOOM", 9),
    }


def staff_config(*, request, view: LiveView) -> dict:
    """The part of a staff page's script configuration that the map and dashboard share."""
    return {
        "area": area_json(view.area),
        "trail": [area_json(a) for a in view.trail],
        "children": [area_json(a) for a in view.children],
        "from": view.date_from.isoformat(),
        "to": view.date_to.isoformat(),
        "today": timezone.localdate().isoformat(),
        "maxDays": MAX_RANGE_DAYS,
        "api": api_urls(),
        "socket": "/ws/live/",
        "labels": {key: str(label) for key, label in LABELS.items()},
    }


def public_config(*, area: Area | None, days: int) -> dict:
    """The public map's configuration: an area's communes and their counts, nothing else."""
    area = area or Area.get_root_nodes().first()
    dates = reports_selectors.range_parse(None, None, days=days)
    return {
        "kind": "public",
        "area": area_json(area) if area else None,
        "from": dates.start.isoformat(),
        "to": dates.end.isoformat(),
        "api": {"areas": api_urls()["areas"]},
        "tiles": tiles(),
        "refreshSeconds": PUBLIC_REFRESH_SECONDS,
        "labels": {key: str(label) for key, label in LABELS.items()},
    }


# The dashboard's charts: the canvas id and its caption (dashboard.js draws each by its id).
DASHBOARD_CHARTS = (
    ("cases", gettext_lazy("New cases per day")),
    ("tests", gettext_lazy("Tests and positivity")),
    ("doses", gettext_lazy("Vaccine doses per day")),
    ("checkpoints", gettext_lazy("Checkpoint passages")),
    ("quarantine", gettext_lazy("Quarantine started and ended")),
)

LABELS = {
    # Connection state
    "live": gettext_lazy("Live"),
    "connecting": gettext_lazy("Connecting…"),
    "reconnecting": gettext_lazy("Connection lost, reconnecting…"),
    "login": gettext_lazy("Your session has ended: log in again to see live updates."),
    "load_failed": gettext_lazy("Could not load the data. Retrying…"),
    "updated": gettext_lazy("Updated"),
    # Headline and series metrics
    "cases_f0": gettext_lazy("F0 cases"),
    "cases_f1": gettext_lazy("F1 contacts"),
    "cases_f2": gettext_lazy("F2 contacts"),
    "f1": gettext_lazy("F1 contacts"),
    "f2": gettext_lazy("F2 contacts"),
    "tests": gettext_lazy("Tests"),
    "tests_positive": gettext_lazy("Positive tests"),
    "positive": gettext_lazy("Positive tests"),
    "positivity": gettext_lazy("Positivity (%)"),
    "doses": gettext_lazy("Vaccine doses"),
    "declarations": gettext_lazy("Health declarations"),
    "checkpoint_in": gettext_lazy("Entering at checkpoints"),
    "checkpoint_out": gettext_lazy("Leaving at checkpoints"),
    "quarantine_started": gettext_lazy("Quarantine started"),
    "quarantine_ended": gettext_lazy("Quarantine ended"),
    "quarantine_facility_active": gettext_lazy("In facility quarantine"),
    "quarantine_home_active": gettext_lazy("In home quarantine"),
    "missed_checkins": gettext_lazy("Missed check-ins"),
    "missed_checkins_today": gettext_lazy("Missed check-ins today"),
    "coverage_one_dose": gettext_lazy("Population with one dose"),
    "coverage_two_doses": gettext_lazy("Population with two doses"),
    "today": gettext_lazy("today"),
    "yesterday": gettext_lazy("yesterday"),
    "total": gettext_lazy("in total"),
    # Tables and map
    "area": gettext_lazy("Area"),
    "place": gettext_lazy("Place"),
    "capacity": gettext_lazy("Capacity"),
    "active": gettext_lazy("In quarantine"),
    "occupancy": gettext_lazy("Occupancy"),
    "no_data": gettext_lazy("No data for this range."),
    "no_cases": gettext_lazy("No new cases in this range."),
    "layer_f0": gettext_lazy("F0 cases"),
    "layer_f1": gettext_lazy("F1 contacts"),
    "layer_quarantine": gettext_lazy("People in quarantine"),
    "layer_checkpoints": gettext_lazy("Checkpoints"),
    "layer_facilities": gettext_lazy("Quarantine facilities"),
    "layer_communes": gettext_lazy("Cases per commune"),
    "kind_case": gettext_lazy("Case"),
    "kind_contact": gettext_lazy("Contact"),
    "kind_quarantine": gettext_lazy("In quarantine"),
    "level": gettext_lazy("Level"),
    "date": gettext_lazy("Date"),
    "open_person": gettext_lazy("Open the person's page"),
    "today_in": gettext_lazy("Entered today"),
    "today_out": gettext_lazy("Left today"),
    "legend_cases": gettext_lazy("F0 cases in the range"),
}
