"""The demo's tracing scenario: generated through the forms' services, approved through the
workflows, deterministic, and idempotent (a second run adds nothing)."""

import copy
import os
from collections import Counter
from datetime import date

import pytest
from django.core.management import call_command

from forms_engine.models import Submission
from tests.workflows.conftest import queues  # noqa: F401 - the Redis queues fixture
from tracing.models import Person
from website.demo.forms import DEMO_FORMS, HEALTH_DECLARATION, TESTING, TRACING
from website.demo.load import demo_load
from website.demo.tracing import CLUSTER_POOL, Scenario, Schema, demo_tracing_run, schemas_load, villages_load

PEOPLE = 200
TODAY = date(2021, 8, 20)


@pytest.fixture
def demo(db):
    demo_load(password="demo-pass-2021")


@pytest.fixture
def jobs(request):
    """The Redis queues, emptied around the test, when REDIS_URL names them; else the in-process
    queues of the embedded default (``make run``)."""
    if os.environ.get("REDIS_URL"):
        request.getfixturevalue("queues")


def per_form() -> dict[str, int]:
    return dict(Counter(Submission.objects.values_list("form__slug", flat=True)))


def scenario(people: int, *, seed: int = 2021, schemas=None) -> Scenario:
    return Scenario(
        seed=seed, people=people, today=TODAY, villages=villages_load(), schemas=schemas or schemas_load()
    )


def test_a_small_run_goes_through_the_services_and_twice_adds_nothing(demo, postgres, queues):  # noqa: F811
    outcome = demo_tracing_run(people=PEOPLE, log=lambda line: None)

    assert per_form() == dict(outcome.created)
    assert per_form()[HEALTH_DECLARATION.slug] >= PEOPLE  # everyone declares at least once
    assert set(per_form()) == {d.slug for d in DEMO_FORMS if d.kind != "quarantine_release"}
    assert not outcome.conflicts and not outcome.waiting
    # The cluster's two positive results (district, then CDC), the two cases' interviews and
    # those of the F1s asked for their own contacts were approved.
    contacts_interviewed = len(scenario(PEOPLE).contacts_interviewed().records)
    assert contacts_interviewed >= 1
    assert outcome.approved == 2 * 2 + 2 + contacts_interviewed
    cluster = Submission.objects.filter(form__slug__in=[TESTING.slug, TRACING.slug])
    assert set(cluster.values_list("status", flat=True)) == {Submission.STATUS_ACCEPTED}
    assert (
        Submission.objects.filter(form__slug=TRACING.slug, submitted_by__username="truyvet.camlam").count()
        == 2 + contacts_interviewed
    )
    assert Person.objects.filter(level="F2").exists()  # the F1s' households
    assert Submission.objects.exclude(client_created_at=None).count() == Submission.objects.count()
    assert Person.objects.count() > 0  # the jobs ran: the registry holds the people
    client_ids = set(Submission.objects.values_list("client_id", flat=True))

    again = demo_tracing_run(people=PEOPLE, log=lambda line: None)

    assert not again.created and not again.conflicts and again.approved == 0
    assert sum(again.replayed.values()) == len(client_ids)
    assert set(Submission.objects.values_list("client_id", flat=True)) == client_ids


def test_the_seed_decides_everything_and_a_person_does_not_depend_on_the_run_size(demo):
    first, second = scenario(PEOPLE), scenario(PEOPLE)
    records = [r for build in first.phases() for r in build().records]
    assert [(r.name, r.data, r.at) for r in records] == [
        (r.name, r.data, r.at) for build in second.phases() for r in build().records
    ]
    assert len({r.name for r in records}) == len(records)  # one client_id per record

    small = scenario(50)
    assert [p.full_name for p in small.persons] == [p.full_name for p in first.persons[:50]]
    # From CLUSTER_POOL people up, the outbreak is the same: a larger run only adds people.
    outbreak = [(r.name, r.data) for r in scenario(CLUSTER_POOL).index_case().records]
    assert outbreak == [(r.name, r.data) for r in scenario(CLUSTER_POOL + 200).index_case().records]
    assert [p.full_name for p in scenario(PEOPLE, seed=7).persons] != [p.full_name for p in first.persons]


def test_people_look_like_the_province_s_people(demo):
    persons = scenario(PEOPLE).persons
    ids = [p.national_id for p in persons if p.national_id]
    assert len(ids) == len(set(ids)) and all(len(i) in (9, 12) and i.isdigit() for i in ids)
    assert all(p.phone.startswith("+849") and len(p.phone) == 12 for p in persons)
    assert {p.full_name.split()[0] for p in persons} >= {"Nguyễn", "Trần", "Lê"}
    assert any(p.workplace == "KCN-SUOIDAU" for p in persons)


def test_contact_settings_are_read_from_the_form_s_schema(demo):
    """Should the tracing form store settings as canonical English values, the interview uses them."""
    schemas = schemas_load()
    fields = copy.deepcopy(schemas[TRACING.slug].fields)
    contacts = next(f for f in fields if f.get("role") == "contacts")
    setting = next(f for f in contacts["fields"] if f.get("role") == "setting")
    setting["choices"] = [
        {"value": v, "label": v}
        for v in ("household", "workplace", "industrial_park", "venue", "transport", "other")
    ]
    schemas[TRACING.slug] = Schema(fields)

    interview = next(
        r for r in scenario(PEOPLE, schemas=schemas).index_case().records if r.slug == TRACING.slug
    )

    settings = [item["setting"] for item in interview.data["contacts"]]
    assert 10 <= len(settings) <= 20
    assert {"household", "workplace", "industrial_park"} <= set(settings)


def test_the_command_loads_once(demo, jobs, capsys):
    call_command("demo_tracing", people=30, today="2021-08-20")
    assert Submission.objects.exists()
    assert Person.objects.exists()  # the jobs ran, on Redis or in process
    count = Submission.objects.count()
    call_command("demo_tracing", people=30, once=True)
    assert "already loaded" in capsys.readouterr().out
    assert Submission.objects.count() == count


def test_the_scenario_tells_the_outbreak_s_story(demo):
    story = scenario(PEOPLE)
    index_case, second = story.cluster_cases()
    assert index_case.workplace == second.workplace == "KCN-SUOIDAU"
    assert index_case.workshop == second.workshop
    positives = [r for r in story.index_case().records + story.second_generation().records if r.approve]
    assert [r.data.get("result") for r in positives if r.slug == TESTING.slug] == ["positive", "positive"]
    interviews = [r for r in positives if r.slug == TRACING.slug]
    assert len(interviews) == 2 and 10 <= len(interviews[0].data["contacts"]) <= 20
    checkins = story.checkins().records
    assert {r.data["quarantine_type"] for r in checkins} == {"facility", "home"}
    assert len([r for r in checkins if r.data["temperature"] >= 37.5]) == 1  # one fever
