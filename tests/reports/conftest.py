"""Forms of the kinds the counters read, and a way to store accepted submissions with their
outbox events as the intake does (without the HTTP round trip, for many at a time)."""

import uuid
from datetime import datetime, time

import pytest
from django.utils import timezone

from forms_engine.models import Submission
from tests.factories import field, publish_form
from tests.forms_engine.conftest import home  # noqa: F401 - fixture
from workflows.events import handlers_for
from workflows.jobs import events_handle
from workflows.models import Event, EventHandled
from workflows.transitions import accepted_event

KINDS_HANDLED = (
    "submission.accepted",
    "tracing.classified",
    "quarantine.changed",
    "alert.raised",
    "persons.merged",
)


def choice(label, key, role, values):
    return field("single_choice", label, key, role=role, choices=[{"value": v, "label": v} for v in values])


COUNTED_FORMS = {
    "checkpoint": [
        field("person", "Người khai", "traveller", role="person", birth="year"),
        choice("Chiều", "direction", "direction", ["in", "out"]),
        choice("Nơi đi", "origin", "origin", ["79", "01", "48"]),
        field("area", "Nơi đến", "destination", role="destination", depth=0),
    ],
    "health_declaration": [
        field("person", "Người khai", "person", role="person", birth="year"),
        field("area", "Nơi ở", "area", role="area", depth=0),
    ],
    "testing": [
        field("person", "Người xét nghiệm", "patient", role="person", birth="year"),
        choice("Loại", "test_type", "test_type", ["rt_pcr_don", "test_nhanh"]),
        field("date", "Ngày lấy mẫu", "sample_date", role="sample_date"),
        choice("Kết quả", "result", "test_result", ["negative", "positive", "inconclusive"]),
        field("area", "Nơi lấy mẫu", "area", role="area", depth=0),
    ],
    "vaccination": [
        field("person", "Người tiêm", "person", role="person", birth="year"),
        choice("Vắc xin", "vaccine", "vaccine", ["astrazeneca", "pfizer"]),
        choice("Mũi", "dose", "dose", ["1", "2"]),
        field("date", "Ngày tiêm", "vaccination_date", role="vaccination_date"),
        field("area", "Nơi ở", "area", role="area", depth=0),
    ],
}


@pytest.fixture
def counted_forms(home, area_tree):  # noqa: F811
    """One published form of each kind the counters read, {kind: form}."""
    return {
        kind: publish_form(
            home, slug=f"dem-{kind.replace('_', '-')}", fields=fields, area=area_tree["province"], kind=kind
        )
        for kind, fields in COUNTED_FORMS.items()
    }


def local_noon(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


def accept(form, data: dict, *, area, day, place=None) -> Submission:
    """An accepted submission of ``form`` in ``area`` received at noon on ``day``, with its
    ``submission.accepted`` event in the same transaction (as forms_engine's intake does)."""
    submission = Submission(
        form=form,
        version=form.current_version,
        client_id=uuid.uuid4(),
        data=data,
        data_hash=uuid.uuid4().hex,
        status=Submission.STATUS_ACCEPTED,
        area=area,
        place=place,
        created_at=local_noon(day),
    )
    submission.save(force_insert=True)
    for event in accepted_event(submission):
        event.save()
    return submission


def reports_handlers() -> list[str]:
    return [h.name for kind in KINDS_HANDLED for h in handlers_for(kind) if h.name.startswith("reports.")]


def handle(event_ids) -> None:
    """What a relayed job does, for each reports handler (other apps' handlers are not run)."""
    for name in reports_handlers():
        kind_of = dict(Event.objects.filter(pk__in=event_ids).values_list("pk", "kind"))
        mine = [pk for pk in event_ids if any(h.name == name for h in handlers_for(kind_of[pk]))]
        if mine:
            events_handle(name, mine)


def pending() -> list[int]:
    handled = EventHandled.objects.filter(handler__startswith="reports.").values("event_id")
    return list(
        Event.objects.filter(kind__in=KINDS_HANDLED)
        .exclude(pk__in=handled)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
