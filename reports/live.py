"""Live events of the counters (contract: DESIGN and the issue-6 brief), sent after commit
through ``realtime.publish`` to the area where things happened and every ancestor."""

import logging
from collections import defaultdict

from django.db import transaction

from places.models import Area
from places.selectors import area_points

from .metrics import Count

logger = logging.getLogger(__name__)

COUNTS_CHANGED = "counts.changed"
CASE_NEW = "case.new"


def publish_after_commit(events: list[tuple[str, dict]]) -> None:
    """(area code, event) pairs, sent together once the counts are committed."""
    if events:
        transaction.on_commit(lambda: publish_now(events))


def publish_now(events: list[tuple[str, dict]]) -> None:
    """A failed live push costs a refetch, never the counted work: it is logged, not raised."""
    from realtime.publish import publish_many

    try:
        publish_many(events)
    except Exception:
        logger.exception("live events (%d) not sent", len(events))


def counts_changed_publish(counts: list[Count]) -> None:
    """One ``counts.changed`` per area where something was counted and date it was counted on."""
    metrics = defaultdict(set)
    for count in counts:
        metrics[(count.area_id, count.date)].add(count.metric)
    codes = dict(Area.objects.filter(pk__in={area for area, _day in metrics}).values_list("pk", "code"))
    publish_after_commit(
        [
            (codes[area_id], {"type": COUNTS_CHANGED, "date": day.isoformat(), "metrics": sorted(names)})
            for (area_id, day), names in sorted(metrics.items())
            if area_id in codes
        ]
    )


def cases_new_publish(cases: list) -> None:
    """One ``case.new`` for each new MapCase of ``cases``, at its area's point, for the map."""
    areas = Area.objects.in_bulk({case.area_id for case in cases})
    points = area_points(list(areas.values()))
    events = []
    for case in cases:
        area = areas[case.area_id]
        lat, lng = points.get(area.pk, (None, None))
        payload = {
            "id": case.person_id,
            "level": case.level,
            "date": case.date.isoformat(),
            "lat": lat,
            "lng": lng,
            "area": {"code": area.code, "name": area.name},
        }
        events.append((area.code, {"type": CASE_NEW, "case": payload}))
    publish_after_commit(events)
