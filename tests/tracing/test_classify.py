"""Levels, their history, a case's expansion to its contacts, and tracing interviews."""

import json
import uuid
from collections import deque

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms_engine.models import Submission
from places.models import Place
from tests.forms_engine.conftest import bearer, home, officer  # noqa: F401
from tests.workflows.conftest import burst, queues  # noqa: F401
from tracing import classify
from tracing.classify import (
    CASE_CONFIRMED,
    LevelError,
    case_confirm,
    case_expand,
    case_expand_event,
    interviews_record,
    level_rank,
    level_set,
    levels_raise,
)
from tracing.handlers import accepted_of
from tracing.models import Classification, Contact, Person, SubmissionPerson, TracingSettings
from tracing.resolve import submissions_persons_resolve
from website.demo import forms as demo_forms
from workflows.models import Event
from workflows.outbox import relay_pending

pytestmark = pytest.mark.django_db

NAMES = ["An", "Bình", "Cường", "Dung", "Em", "Phúc", "Giang", "Hoa", "Khánh", "Lan", "Minh", "Nga"]


def people(count: int, **fields) -> list[Person]:
    return Person.objects.bulk_create(
        Person(full_name=f"Nguyễn Văn {NAMES[i % len(NAMES)]}", name_folded=f"p{i}", **fields)
        for i in range(count)
    )


def link(named_by: Person, contact: Person, setting=Contact.SETTING_HOUSEHOLD) -> Contact:
    return Contact.objects.create(
        person=named_by, contact=contact, setting=setting, found_by=Contact.FOUND_INTERVIEW
    )


def levels_of(persons) -> list[str]:
    current = dict(Person.objects.filter(pk__in=[p.pk for p in persons]).values_list("pk", "level"))
    return [current[p.pk] for p in persons]


@pytest.fixture(params=["native", "orm"])
def raise_path(request, monkeypatch):
    """Each test twice: PostgreSQL's one-statement walk and raise, and the ORM's (SQLite's) steps."""
    if request.param == "orm":
        monkeypatch.setattr(classify, "raise_in_one_statement", classify.raise_with_orm)
        monkeypatch.setattr(classify, "walk_and_raise", classify.walk_then_raise)
    return request.param


# --- levels ------------------------------------------------------------------------------


def test_the_order_of_levels():
    order = ["", "suspected", "F5", "F4", "F3", "F2", "F1", "F0"]
    assert [level_rank(level) for level in order] == sorted(level_rank(level) for level in order)
    assert level_rank("cleared") == level_rank("")
    with pytest.raises(LevelError):
        level_rank("F9")


def test_case_confirm_makes_f0_with_history_and_one_event(raise_path):
    [case] = people(1)
    assert case_confirm(case, job="test") is True
    case.refresh_from_db()
    assert case.level == "F0" and case.level_at is not None
    [row] = Classification.objects.filter(person=case)
    assert (row.level_from, row.level, row.case_id, row.job) == ("", "F0", case.pk, "test")
    [event] = Event.objects.filter(kind=CASE_CONFIRMED)
    assert event.key == f"case.confirmed:{case.pk}:{row.pk}"
    assert event.payload == {"person": case.pk, "submission": None}

    [classified] = Event.objects.filter(kind="tracing.classified")  # for the counters (reports)
    assert classified.payload == {"classifications": [row.pk]}

    assert case_confirm(case, job="test") is False  # already F0: nothing new
    assert Classification.objects.count() == 1 and Event.objects.count() == 2


def test_a_new_case_expands_both_ways_to_f1_and_f2():
    case, named, named_case, second, third, far = people(6)
    link(case, named)  # the case named them
    link(named_case, case)  # they named the case
    link(named, second)
    link(third, named_case)
    link(second, far)  # three steps away: not classified at depth 2

    new = case_expand(case.pk, depth=2, job="case.confirmed:1:1")

    assert new == {"F1": sorted([named.pk, named_case.pk]), "F2": sorted([second.pk, third.pk])}
    assert levels_of([case, named, named_case, second, third, far]) == ["", "F1", "F1", "F2", "F2", ""]
    rows = Classification.objects.filter(person=second).get()
    assert (rows.level_from, rows.level, rows.case_id, rows.job) == ("", "F2", case.pk, "case.confirmed:1:1")


def test_the_depth_setting_is_respected():
    case, first, second, third = people(4)
    link(case, first)
    link(first, second)
    link(second, third)
    settings_row = TracingSettings.load()
    settings_row.expansion_depth = 1
    settings_row.save()
    assert case_expand(case.pk) == {"F1": [first.pk]}
    assert levels_of([first, second, third]) == ["F1", "", ""]

    settings_row.expansion_depth = 3
    settings_row.save()
    assert case_expand(case.pk) == {"F1": [], "F2": [second.pk], "F3": [third.pk]}


def test_a_level_rises_and_never_falls_by_a_job(raise_path):
    case, contact, further = people(3)
    link(case, contact)
    link(contact, further)
    levels_raise({contact.pk: "F2", further.pk: "F1"}, job="earlier")

    case_expand(case.pk, depth=2)

    assert levels_of([contact, further]) == ["F1", "F1"]  # F2 → F1 rose; F1 stayed, not F2
    assert list(Classification.objects.filter(person=contact).values_list("level_from", "level")) == [
        ("F2", "F1"),
        ("", "F2"),
    ]
    assert Classification.objects.filter(person=further).count() == 1


def test_recovered_deceased_and_merged_persons_are_left_alone(raise_path):
    case, recovered, deceased, merged, suspected = people(5)
    for person in (recovered, deceased, merged, suspected):
        link(case, person)
    Person.objects.filter(pk=recovered.pk).update(level="recovered")
    Person.objects.filter(pk=deceased.pk).update(level="deceased")
    Person.objects.filter(pk=merged.pk).update(merged_into=suspected)
    Person.objects.filter(pk=suspected.pk).update(level="suspected")

    assert case_expand(case.pk, depth=1) == {"F1": [suspected.pk]}
    assert levels_of([recovered, deceased, merged, suspected]) == ["recovered", "deceased", "", "F1"]


def test_an_explicit_clearance_lowers_and_a_later_job_may_raise_again(make_user):
    staff = make_user("truyvet")
    case, contact = people(2)
    link(case, contact)
    case_expand(case.pk, depth=1)

    row = level_set(contact, "cleared", user=staff, note="Xét nghiệm âm tính 2 lần")

    assert (row.level_from, row.level, row.changed_by) == ("F1", "cleared", staff)
    assert levels_of([contact]) == ["cleared"]
    assert level_set(contact, "cleared", user=staff) is None  # no change, no row
    assert case_expand(case.pk, depth=1) == {"F1": [contact.pk]}  # a new exposure counts again


def test_unknown_levels_are_refused_clearly(make_user):
    [person] = people(1)
    with pytest.raises(LevelError) as raised:
        level_set(person, "F7", user=make_user("x"))
    assert "F7" in raised.value.messages[0] and isinstance(raised.value, ValueError)
    with pytest.raises(LevelError):
        levels_raise({person.pk: "recovered"})  # staff's decision, not a job's
    assert Classification.objects.count() == 0


def test_the_event_handler_counts_and_opens_follow_ups(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "tracing.quarantine.orders_for_levels", lambda levels, **kw: calls.append(("q", levels, kw))
    )
    monkeypatch.setattr(
        "tracing.testing.requests_open", lambda ids, reason, **kw: calls.append(("t", reason, ids, kw))
    )
    case, first, second = people(3)
    link(case, first)
    link(first, second)
    event = Event(kind=CASE_CONFIRMED, key="case.confirmed:9:9", payload={"person": case.pk})

    assert case_expand_event(event) == {"F1": 1, "F2": 1}

    job = {"job": "case.confirmed:9:9"}
    assert calls == [
        ("q", {"F1": [first.pk], "F2": [second.pk]}, {"case_id": case.pk, **job}),
        ("t", "f1", [first.pk], job),
    ]
    calls.clear()
    assert case_expand_event(event) == {"F1": 0, "F2": 0}  # twice: nothing new, nothing opened
    assert calls == []


def test_expansion_reads_a_few_queries_per_level_not_one_per_person(
    django_assert_max_num_queries, monkeypatch
):
    # Orders and tests are the quarantine and testing modules' queries, counted in their tests.
    monkeypatch.setattr(classify, "follow_ups_open", lambda new, **kw: None)
    case, *contacts = people(40)
    Contact.objects.bulk_create(
        Contact(person=case if i < 10 else contacts[i % 10], contact=c, found_by="import")
        for i, c in enumerate(contacts)
    )
    TracingSettings.load()
    # settings 1, walk 2, lock 1, an update per level 2, history 1, savepoints 4
    with django_assert_max_num_queries(11):
        new = case_expand(case.pk)
    assert len(new["F1"]) == 10 and len(new["F2"]) == 29


# --- expansion against a reference BFS -----------------------------------------------------

INITIAL_LEVELS = ["", "", "", "suspected", "cleared", "F0", "F1", "F2", "F3", "recovered", "deceased"]


def reference_levels(count, edges, initial, depth) -> list[str]:
    """The levels expansion must leave, computed the plain way: a BFS on an undirected graph."""
    adjacent = {i: set() for i in range(count)}
    for a, b, _setting in edges:
        adjacent[a].add(b)
        adjacent[b].add(a)
    distance = {0: 0}
    queue = deque([0])
    while queue:
        node = queue.popleft()
        for other in adjacent[node]:
            if other not in distance:
                distance[other] = distance[node] + 1
                queue.append(other)
    expected = list(initial)
    for node, d in distance.items():
        if 0 < d <= depth and classify.raises(initial[node], f"F{d}"):
            expected[node] = f"F{d}"
    return expected


@st.composite
def graphs(draw):
    count = draw(st.integers(min_value=1, max_value=12))
    pairs = st.tuples(
        st.integers(0, count - 1), st.integers(0, count - 1), st.sampled_from(["household", "workplace"])
    )
    edges = draw(st.sets(pairs.filter(lambda e: e[0] != e[1]), max_size=24))
    initial = draw(st.lists(st.sampled_from(INITIAL_LEVELS), min_size=count, max_size=count))
    return count, sorted(edges), initial, draw(st.integers(1, 4))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(graph=graphs())
def test_expansion_equals_a_reference_bfs_and_twice_equals_once(db, raise_path, graph):
    count, edges, initial, depth = graph
    with transaction.atomic():
        persons = people(count)
        for person, level in zip(persons, initial, strict=True):
            Person.objects.filter(pk=person.pk).update(level=level)
        Contact.objects.bulk_create(
            Contact(person=persons[a], contact=persons[b], setting=s, found_by="import") for a, b, s in edges
        )
        case = persons[0]

        first = case_expand(case.pk, depth=depth)
        after_once = levels_of(persons)
        history = Classification.objects.count()
        second = case_expand(case.pk, depth=depth)

        assert after_once == reference_levels(count, edges, initial, depth)
        assert levels_of(persons) == after_once and Classification.objects.count() == history
        assert all(ids == [] for ids in second.values())
        changed = [p.pk for p, old, new in zip(persons, initial, after_once, strict=True) if old != new]
        assert sorted(pk for ids in first.values() for pk in ids) == sorted(changed) and history == len(
            changed
        )
        transaction.set_rollback(True)


# --- tracing interviews --------------------------------------------------------------------


@pytest.fixture
def park(area_tree):
    return Place.objects.create(
        kind=Place.KIND_INDUSTRIAL_PARK, name="KCN Suối Dầu", area=area_tree["suoi_tan"]
    )


@pytest.fixture
def tracing_form(home, area_tree):  # noqa: F811 - the home fixture, imported above
    return demo_forms.demo_form_upsert(demo_forms.TRACING, home=home, area=area_tree["province"])


def interview(case: dict, contacts: list[dict], *, workplace: str = "", subject: str = "case") -> dict:
    data = {"interviewee": subject, "case": case, "contacts": contacts}
    if subject == "case":
        data["sample_date"] = "2021-08-01"
    if workplace:
        data["workplace"] = workplace
    return data


def submit(form, data: dict, headers: dict):
    body = json.dumps({"client_id": str(uuid.uuid4()), "data": data})
    response = Client().post(
        f"/api/v1/forms/{form.slug}/submissions", body, content_type="application/json", **headers
    )
    assert response.status_code == 201, response.content
    return Submission.objects.get(pk=response.json()["id"])


def work_off():
    """The outbox relayed and every job run, until nothing new is recorded."""
    while relay_pending():
        burst()


CASE = {"full_name": "Nguyễn Văn Tâm", "birth_year": 1985, "phone": "0905111222", "home_area": "22711-02"}
WIFE = {
    "full_name": "Trần Thị Hoa",
    "phone": "0905333444",
    "birth_year": 1987,
    "relationship": "gia_dinh",
    "setting": "household",
    "exposure_date": "2021-07-30",
    "address_area": "22711-02",
}
WORKMATE = {"full_name": "Lê Văn Phúc", "birth_year": 1990, "setting": "industrial_park"}


def test_an_accepted_interview_records_edges_confirms_and_a_worker_classifies_the_chain(
    queues,  # noqa: F811 - fixtures imported above
    tracing_form,
    park,
    bearer,  # noqa: F811
    area_tree,
):
    [neighbour] = people(1)
    wife_before, _ = Person.objects.get_or_create(
        phone="+84905333444",
        name_folded="tran thi hoa",
        birth_year=1987,
        defaults={"full_name": "Trần Thị Hoa"},
    )
    link(wife_before, neighbour)  # she named him in an earlier interview

    submission = submit(tracing_form, interview(CASE, [WIFE, WORKMATE], workplace=park.code), bearer)
    work_off()

    case = Person.objects.get(phone="+84905111222")
    wife, workmate = (Person.objects.get(full_name=n) for n in ("Trần Thị Hoa", "Lê Văn Phúc"))
    assert wife.pk == wife_before.pk and wife.home_area == area_tree["dong_cau"]
    edges = Contact.objects.filter(person=case).order_by("contact__full_name")
    assert [(e.contact, e.setting, e.place, e.found_by, e.source_submission) for e in edges] == [
        (workmate, "industrial_park", park, "interview", submission),
        (wife, "household", None, "interview", submission),
    ]
    assert str(edges.get(contact=wife).exposure_date) == "2021-07-30"
    assert levels_of([case, wife, workmate, neighbour]) == ["F0", "F1", "F1", "F2"]
    assert Classification.objects.get(person=case).source_submission == submission
    assert set(SubmissionPerson.objects.filter(submission=submission).values_list("path", flat=True)) == {
        "case",
        "contacts.0",
        "contacts.1",
    }

    # The same interview handled again (a re-run job): nothing new anywhere.
    counts = (
        Person.objects.count(),
        Contact.objects.count(),
        Classification.objects.count(),
        Event.objects.count(),
    )
    items = accepted_of(Event.objects.filter(kind="submission.accepted"))
    for item in items:
        item.persons = submissions_persons_resolve([item.submission])[item.submission.pk]
    interviews_record(items)
    assert counts == (
        Person.objects.count(),
        Contact.objects.count(),
        Classification.objects.count(),
        Event.objects.count(),
    )


def test_a_second_interview_of_a_case_classifies_its_new_contacts_in_the_same_job(
    queues,  # noqa: F811
    tracing_form,
    bearer,  # noqa: F811
):
    submit(tracing_form, interview(CASE, [WIFE]), bearer)
    work_off()
    assert Event.objects.filter(kind=CASE_CONFIRMED).count() == 1

    submit(tracing_form, interview(CASE, [WORKMATE]), bearer)
    relay_pending()
    burst()  # the interview's own job: no second confirmation event to wait for

    assert Event.objects.filter(kind=CASE_CONFIRMED).count() == 1
    assert Person.objects.get(full_name="Lê Văn Phúc").level == "F1"


def test_an_f1_interviewed_as_a_case_is_confirmed_and_its_contacts_rise(
    queues,  # noqa: F811
    tracing_form,
    bearer,  # noqa: F811
):
    [earlier_case] = people(1)
    wife, _ = Person.objects.get_or_create(
        phone="+84905333444",
        name_folded="tran thi hoa",
        birth_year=1987,
        defaults={"full_name": "Trần Thị Hoa"},
    )
    link(earlier_case, wife)
    case_expand(earlier_case.pk, depth=2)
    assert levels_of([wife]) == ["F1"]

    wife_as_case = {"full_name": "Trần Thị Hoa", "birth_year": 1987, "phone": "0905333444"}
    submit(tracing_form, interview(wife_as_case, [WORKMATE]), bearer)
    work_off()

    workmate = Person.objects.get(full_name="Lê Văn Phúc")
    assert levels_of([wife, workmate, earlier_case]) == ["F0", "F1", "F1"]


def test_an_f1_interviewed_as_a_contact_stays_f1_and_the_contacts_named_become_f2(
    queues,  # noqa: F811
    tracing_form,
    bearer,  # noqa: F811
):
    [earlier_case] = people(1)
    colleague, _ = Person.objects.get_or_create(
        phone="+84905333444",
        name_folded="tran thi hoa",
        birth_year=1987,
        defaults={"full_name": "Trần Thị Hoa"},
    )
    link(earlier_case, colleague)
    case_expand(earlier_case.pk, depth=2)

    colleague_interviewed = {"full_name": "Trần Thị Hoa", "birth_year": 1987, "phone": "0905333444"}
    submission = submit(tracing_form, interview(colleague_interviewed, [WORKMATE], subject="contact"), bearer)
    work_off()

    workmate = Person.objects.get(full_name="Lê Văn Phúc")
    assert levels_of([colleague, workmate]) == ["F1", "F2"]
    assert not Event.objects.filter(kind=CASE_CONFIRMED, payload__person=colleague.pk).exists()
    assert Contact.objects.get(person=colleague, contact=workmate).source_submission == submission
    assert Classification.objects.get(person=workmate).case_id == earlier_case.pk


def test_a_contact_interviewed_before_any_case_only_records_the_edges(
    queues,  # noqa: F811
    tracing_form,
    bearer,  # noqa: F811
):
    submit(tracing_form, interview(CASE, [WIFE], subject="contact"), bearer)
    work_off()

    case, wife = Person.objects.get(phone="+84905111222"), Person.objects.get(full_name="Trần Thị Hoa")
    assert levels_of([case, wife]) == ["", ""]
    assert Contact.objects.filter(person=case, contact=wife).exists()
    # Later the interviewee is confirmed: the expansion walks the edge their interview made.
    assert case_confirm(case)
    work_off()
    assert levels_of([case, wife]) == ["F0", "F1"]


def test_a_co_location_edge_makes_no_f1():
    """Sharing a venue with a case makes a person suspected (exposure.py), not a close contact:
    expansion walks only the edges of interviews and imports."""
    case, venue_neighbour, their_household = (
        Person.objects.create(full_name=name, name_folded=name.lower())
        for name in ("Nguyễn Văn Tâm", "Trần Thị Hoa", "Lê Văn Phúc")
    )
    Contact.objects.create(person=case, contact=venue_neighbour, setting="venue", found_by="colocation")
    Contact.objects.create(
        person=venue_neighbour, contact=their_household, setting="household", found_by="interview"
    )
    levels_raise({case.pk: "F0"})
    assert case_expand(case.pk, depth=2) == {"F1": [], "F2": []}
    assert set(Person.objects.exclude(pk=case.pk).values_list("level", flat=True)) == {""}


def test_a_long_contact_list_resolves_in_a_handful_of_queries(
    tracing_form,
    bearer,  # noqa: F811 - fixture imported above
    django_assert_max_num_queries,
):
    """Eighty contacts, two of them the same person twice: resolved with set-based queries,
    linked once, and a second run finds the links."""
    contacts = [
        {
            "full_name": f"Người Tiếp Xúc {n}",
            "birth_year": 1960 + n % 40,
            "phone": f"09051{n:05d}",
            "setting": "venue",
        }
        for n in range(78)
    ]
    contacts += [contacts[0], contacts[1]]
    submission = submit(tracing_form, interview(CASE, contacts), bearer)
    [item] = accepted_of([Event.objects.get(payload__client_id=str(submission.client_id))])
    item.persons = submissions_persons_resolve([item.submission])[item.submission.pk]
    named = classify.interview_contacts(item)
    with django_assert_max_num_queries(8):
        persons = classify.contacts_resolve(named)
    assert len({p.pk for p in persons.values()}) == 78 and SubmissionPerson.objects.count() == 81
    with django_assert_max_num_queries(1):
        assert classify.contacts_resolve(named) == persons
