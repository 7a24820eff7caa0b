"""The daily situation report's content and its PDF: what leaders read every morning.

Every number comes from the daily counters through the dashboard's own reads
(``selectors.dashboard`` and ``selectors.by_child``), never from submissions, so the paper and
the live dashboard cannot disagree. The one read of tracing's tables is ``new_clusters``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.models import Site

from places.models import Area

from . import charts, metrics
from .pdf import render_pdf
from .selectors import COMMUNE_DEPTH, Range, by_child, children_of, communes_of, dashboard

TEMPLATE = "reports/print/situation.html"
DAYS_CHARTED = 30
NO_VALUE = "—"

# (label, the dashboard series it reads): the headline table, in the order leaders read it.
HEADLINE_ROWS = (
    (gettext_lazy("New F0 cases"), metrics.CASES[0]),
    (gettext_lazy("New F1 contacts"), metrics.CASES[1]),
    (gettext_lazy("New F2 contacts"), metrics.CASES[2]),
    (gettext_lazy("Tests"), metrics.TESTS),
    (gettext_lazy("Positive tests"), metrics.TESTS_POSITIVE),
    (gettext_lazy("Vaccine doses given"), metrics.DOSES),
    (gettext_lazy("In facility quarantine (active)"), "quarantine_facility_active"),
    (gettext_lazy("In home quarantine (active)"), "quarantine_home_active"),
    (gettext_lazy("Missed quarantine check-ins"), metrics.MISSED_CHECKINS),
    (gettext_lazy("Entering at checkpoints"), metrics.CHECKPOINT_IN),
    (gettext_lazy("Leaving at checkpoints"), metrics.CHECKPOINT_OUT),
)
# The columns of the tables by area: (label, metric, over the whole charted range?).
AREA_COLUMNS = (
    ("F0", metrics.CASES[0], False),
    (gettext_lazy("F0, 30 days"), metrics.CASES[0], True),
    ("F1", metrics.CASES[1], False),
    ("F2", metrics.CASES[2], False),
    (gettext_lazy("Tests"), metrics.TESTS, False),
    (gettext_lazy("Positive"), metrics.TESTS_POSITIVE, False),
    (gettext_lazy("Doses"), metrics.DOSES, False),
)


def number(value) -> str:
    """A count the Vietnamese way: 12.345."""
    return NO_VALUE if value is None else f"{value:,}".replace(",", ".")


def change(today: int, yesterday: int) -> str:
    difference = today - yesterday
    return f"+{number(difference)}" if difference > 0 else f"−{number(-difference)}" if difference else "0"


def share(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value * 100:.1f}%".replace(".", ",")


# The tables by area are printed as ledger lines, one text run a row: the name, a tab to the
# columns, then each count right-aligned by padding with figure spaces (as wide as a digit;
# counts here go without a thousands separator, which is narrower). WeasyPrint lays out every
# table cell's text several times (widths, then lines): 200 communes as cells took seconds,
# as lines a tenth of that.
FIGURE_SPACE = "\u2007"
LEDGER_DIGITS = 8  # a column's width, in digits (the template's .ledger-column says 8ch)
LEDGER_NAME_LENGTH = 34  # characters that fit before the tab stop


def ledger_line(name: str, counts: list[int]) -> str:
    if len(name) > LEDGER_NAME_LENGTH:
        name = name[: LEDGER_NAME_LENGTH - 1] + "…"
    return f"{name}\t{''.join(str(count).rjust(LEDGER_DIGITS, FIGURE_SPACE) for count in counts)}"


@dataclass(frozen=True)
class AreaTable:
    title: str
    rows: list[dict]  # {"group": a parent's name when it changes, "line": the ledger line}


def situation_context(area: Area, day: date) -> dict:
    """Everything the report's template shows for ``area`` on ``day`` (and the day before)."""
    days = Range(day - timedelta(days=DAYS_CHARTED - 1), day)
    numbers = dashboard(area, days)
    series, headline = numbers["series"], numbers["headline"]
    day_label = date_format(day, "d/m/Y")
    return {
        "document_title": situation_title(area, day),
        "issuing_body": issuing_body(),
        "issued_on_label": _("Made on %(date)s") % {"date": date_format(timezone.localtime(), "d/m/Y H:i")},
        "area": area,
        "day_label": day_label,
        "day_before_label": date_format(day - timedelta(days=1), "d/m/Y"),
        "headline": headline_rows(series),
        "totals": totals(headline),
        "charts": situation_charts(series),
        "tables": area_tables(area, days),
        "column_labels": [label for label, _metric, _whole in AREA_COLUMNS],
        "clusters": new_clusters(area, day),
        "occupancy": numbers["occupancy"],
    }


def situation_title(area: Area, day: date) -> str:
    return _("Situation report of %(area)s, %(date)s") % {
        "area": area.name,
        "date": date_format(day, "d/m/Y"),
    }


def headline_rows(series: dict) -> list[dict]:
    """The report's date against the day before: the last two values of each series."""
    rows = []
    for label, name in HEADLINE_ROWS:
        today, yesterday = series[name][-1], series[name][-2]
        rows.append(
            {
                "label": label,
                "today": number(today),
                "yesterday": number(yesterday),
                "change": change(today, yesterday),
            }
        )
    return rows


def totals(headline: dict) -> dict:
    """Running totals to the report's date, and vaccination coverage."""
    return {
        "cases_f0": number(headline["cases_f0"]["total"]),
        "tests": number(headline["tests"]["total"]),
        "positive": number(headline["positive"]["total"]),
        "doses": number(headline["doses"]["total"]),
        "coverage_one_dose": share(headline["coverage_one_dose"]),
        "coverage_two_doses": share(headline["coverage_two_doses"]),
        "quarantine_facility": number(headline["quarantine_facility_active"]),
        "quarantine_home": number(headline["quarantine_home_active"]),
    }


def situation_charts(series: dict) -> list[str]:
    """Cases, tests with positivity, and doses with their running total, a bar a day."""
    labels = [f"{iso[8:10]}/{iso[5:7]}" for iso in series["dates"]]
    tests, positive = series[metrics.TESTS], series[metrics.TESTS_POSITIVE]
    positivity = [p / t if t else 0 for p, t in zip(positive, tests, strict=True)]
    doses = series[metrics.DOSES]
    running = [sum(doses[: index + 1]) for index in range(len(doses))]
    return [
        charts.bar_chart(
            labels,
            [
                charts.Series(_("New F0"), series[metrics.CASES[0]], "#c0392b"),
                charts.Series(_("New F1"), series[metrics.CASES[1]], "#e67e22"),
            ],
            title=_("New cases and contacts a day"),
        ),
        charts.bar_chart(
            labels,
            [charts.Series(_("Tests"), tests, "#2874a6")],
            title=_("Tests a day and share positive"),
            line=charts.Series(_("Positive (%)"), positivity, "#c0392b"),
            line_percent=True,
        ),
        charts.bar_chart(
            labels,
            [charts.Series(_("Doses"), doses, "#27ae60")],
            title=_("Vaccine doses a day"),
            line=charts.Series(_("Doses over these days"), running, "#111111"),
        ),
    ]


def area_tables(area: Area, days: Range) -> list[AreaTable]:
    """The areas one level below; for a province, every commune too (grouped by district)."""
    tables = []
    children = children_of(area)
    if children:
        tables.append(AreaTable(level_title(area.depth + 1), area_rows(children, days, grouped=False)))
    if area.depth < COMMUNE_DEPTH - 1:
        communes = communes_of(area)
        if communes:
            tables.append(AreaTable(level_title(COMMUNE_DEPTH), area_rows(communes, days, grouped=True)))
    return tables


def level_title(depth: int) -> str:
    if depth <= COMMUNE_DEPTH - 1:
        return _("By district")
    if depth == COMMUNE_DEPTH:
        return _("By commune")
    return _("By village or residential group")


def area_rows(areas: list[Area], days: Range, *, grouped: bool) -> list[dict]:
    """A row an area: the report date's counts and the F0 of the whole range (two queries);
    ``grouped``: under a heading of their parent (communes by district)."""
    on_day = {row["code"]: row for row in by_child(areas, Range(days.end, days.end))}
    over_range = {row["code"]: row for row in by_child(areas, days)}
    parents = parent_names(areas) if grouped else {}
    rows, heading = [], None
    for area in areas:
        values = [
            number((over_range if whole else on_day)[area.code][metric])
            for _label, metric, whole in AREA_COLUMNS
        ]
        parent = parents.get(area.pk)
        rows.append({"group": parent if parent != heading else None, "line": ledger_line(area.name, values)})
        heading = parent
    return rows


def parent_names(areas: list[Area]) -> dict[int, str]:
    """{area id: its parent's name}, in one query."""
    steplen = Area.steplen
    paths = {area.pk: area.path[:-steplen] for area in areas if len(area.path) > steplen}
    names = dict(Area.objects.filter(path__in=set(paths.values())).values_list("path", "name"))
    return {pk: names.get(path, "") for pk, path in paths.items()}


def new_clusters(area: Area, day: date) -> list[dict]:
    """Clusters found on ``day`` at a place in ``area``, with their members by level.

    The report's one read of tracing's tables (reports may read them for this report only)."""
    from tracing.exposure import cluster_counts
    from tracing.models import Cluster

    start = timezone.make_aware(datetime.combine(day, time.min))
    clusters = list(
        Cluster.objects.filter(
            created_at__gte=start,
            created_at__lt=start + timedelta(days=1),
            place__area__path__startswith=area.path,
        )
        .select_related("place")
        .order_by("created_at", "pk")
    )
    counts = cluster_counts([cluster.pk for cluster in clusters])
    return [
        {
            "name": cluster.name,
            "place": cluster.place.name,
            "workshop": cluster.workshop,
            **{key: number(value) for key, value in counts.get(cluster.pk, {}).items()},
        }
        for cluster in clusters
    ]


def issuing_body() -> str:
    """The default site's home page's issuing body when it has one, else the site's name."""
    site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
    if site is None:
        return ""
    body = getattr(site.root_page.specific, "issuing_body", "")
    return body or site.site_name or ""


def situation_html(area: Area, day: date) -> str:
    return render_to_string(TEMPLATE, situation_context(area, day))


def situation_pdf(area: Area, day: date, *, progress: Callable[[int], None] = lambda percent: None) -> bytes:
    """The report's PDF bytes; ``progress`` hears how far it got (percent), step by step."""
    progress(10)
    html = situation_html(area, day)
    progress(40)
    pdf = render_pdf(html)
    progress(90)
    return pdf
