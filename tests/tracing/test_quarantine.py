"""Quarantine: orders by rule and for travellers, daily check-ins and their alerts, the missed
check-in alert, release through the workflow's accepted submission, occupancy."""

import json
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from forms_engine.models import Submission
from places.models import GroupRole, Place
from tests.factories import approval_required, field, publish_form
from tests.forms_engine.conftest import bearer, home, officer  # noqa: F401
from tests.workflows.conftest import burst, queues  # noqa: F401
from tests.workflows.test_review import act, current_fields
from tracing import classify, quarantine
from tracing.handlers import accepted_of
from tracing.models import (
    Alert,
    Contact,
    Person,
    QuarantineCheckIn,
    QuarantineOrder,
    QuarantineRule,
    TracingSettings,
)
from tracing.models import TestRequest as SampleRequest  # a name pytest does not collect
from website.demo.tracing_rules import demo_tracing_rules_load
from workflows.models import Event
from workflows.outbox import relay_pending

pytestmark = pytest.mark.django_db

NATIONAL_ID = "056090000123"
PERSON = {
    "full_name": "Nguyễn Văn Bình",
    "birth_year": 1990,
    "national_id": NATIONAL_ID,
    "home_area": "22711-02",
}

PERSON_FIELD = field("person", "Người", "person", required=True, role="person", birth="year")
SYMPTOM_CHOICES = [{"value": "sot", "label": "Sốt"}, {"value": "ho", "label": "Ho"}]
CHECKIN_FIELDS = [
    PERSON_FIELD,
    field(
        "number",
        "Nhiệt độ",
        "temperature",
        decimal=True,
        decimal_places=1,
        min_value="34",
        max_value="43",
        role="temperature",
    ),
    field("number", "SpO2", "spo2", min_value="50", max_value="100", role="spo2"),
    field("multiple_choice", "Triệu chứng", "symptoms", role="symptoms", choices=SYMPTOM_CHOICES),
]
RELEASE_FIELDS = [
    PERSON_FIELD,
    field("date", "Ngày kết thúc", "release_date", required=True, role="release_date", allow_future=True),
]
CHECKPOINT_FIELDS = [
    PERSON_FIELD,
    field(
        "single_choice",
        "Chiều",
        "direction",
        required=True,
        role="direction",
        choices=[{"value": "in", "label": "Vào tỉnh"}, {"value": "out", "label": "Ra tỉnh"}],
    ),
    field(
        "single_choice",
        "Nơi đi",
        "origin",
        role="origin",
        choices=[
            {"value": "79", "label": "TP. Hồ Chí Minh"},
            {"value": "74", "label": "Bình Dương"},
            {"value": "54", "label": "Phú Yên"},
        ],
    ),
    field("area", "Nơi đến", "destination", role="destination", depth=0),
]


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def rules(db):
    demo_tracing_rules_load()  # F1: facility 14 days (+14 self-monitoring), F2: home 7 days


@pytest.fixture
def tracing_forms(home, area_tree):  # noqa: F811 - fixture imported above
    province = area_tree["province"]
    return {
        "checkin": publish_form(
            home, slug="theo-doi", fields=CHECKIN_FIELDS, area=province, kind="quarantine_checkin"
        ),
        "release": publish_form(
            home, slug="ket-thuc", fields=RELEASE_FIELDS, area=province, kind="quarantine_release"
        ),
        "checkpoint": publish_form(
            home, slug="chot", fields=CHECKPOINT_FIELDS, area=province, kind="checkpoint"
        ),
    }


def submit(form, data: dict, bearer: dict, **extra) -> Submission:  # noqa: F811
    """Post one submission through the API, then relay the outbox and run the jobs."""
    client_id = str(uuid.uuid4())
    body = json.dumps({"client_id": client_id, "data": data, **extra})
    response = Client().post(
        f"/api/v1/forms/{form.slug}/submissions", body, content_type="application/json", **bearer
    )
    assert response.status_code == 201, response.content
    relay_pending()
    burst()
    return Submission.objects.get(form=form, client_id=client_id)


def person_in(area, name="Trần Thị Cúc", **fields) -> Person:
    return Person.objects.create(full_name=name, name_folded=name.lower(), home_area=area, **fields)


def facility(area, capacity, name="Khu cách ly") -> Place:
    return Place.objects.create(kind=Place.KIND_QUARANTINE_FACILITY, name=name, area=area, capacity=capacity)


def order_for(person, *, start, facility=None, kind=QuarantineRule.KIND_HOME) -> QuarantineOrder:
    return QuarantineOrder.objects.create(
        person=person,
        kind=kind,
        facility=facility,
        area=facility.area if facility else person.home_area,
        start_date=start,
        planned_end=start + timedelta(days=14),
    )


def test_the_demo_rules_are_data_loaded_once(rules):
    demo_tracing_rules_load()

    assert {(r.level, r.kind, r.days, r.self_monitoring_days) for r in QuarantineRule.objects.all()} == {
        ("F1", QuarantineRule.KIND_FACILITY, 14, 14),
        ("F2", QuarantineRule.KIND_HOME, 7, 0),
    }
    assert TracingSettings.load().hot_origin_values() == {"79", "74"}  # TP. Hồ Chí Minh, Bình Dương


# --- orders by rule ----------------------------------------------------------------------------


def test_f1_goes_to_the_least_occupied_facility_with_room_nearest_home_for_14_days(rules, area_tree):
    commune = facility(area_tree["suoi_tan"], 2, "Trường tiểu học Suối Tân")
    district = facility(area_tree["cam_duc"], 10, "Ký túc xá Cam Đức")
    facility(area_tree["nha_trang"], 100, "Khu cách ly Nha Trang")  # another district: never
    order_for(person_in(area_tree["dong_cau"], "Đã ở đó"), start=timezone.localdate(), facility=commune)
    persons = [person_in(area_tree["dong_cau"], f"Người {n}") for n in range(3)]

    new = quarantine.orders_for_level([p.pk for p in persons], "F1", case_id=persons[0].pk, job="job:1")

    orders = QuarantineOrder.objects.filter(pk__in=new).order_by("person_id")
    assert len(new) == 3
    # The commune's facility has one bed left; the district's takes the others.
    assert [o.facility_id for o in orders] == [commune.pk, district.pk, district.pk]
    today = timezone.localdate()
    for order in orders:
        assert order.kind == QuarantineRule.KIND_FACILITY and order.level == "F1"
        assert order.start_date == today and order.planned_end == today + timedelta(days=14)
        assert order.area_id == order.facility.area_id
        assert f"#{persons[0].pk}" in order.reason
    assert quarantine.occupancy([commune, district]) == {
        commune.pk: {"capacity": 2, "active": 2},
        district.pk: {"capacity": 10, "active": 2},
    }


def test_no_facility_with_room_still_orders_and_leaves_the_facility_to_the_area_team(rules, area_tree):
    full = facility(area_tree["suoi_tan"], 1)
    facility(area_tree["cam_duc"], None, "Chưa rõ sức chứa")  # no capacity recorded: not chosen
    order_for(person_in(area_tree["dong_cau"], "Đã ở đó"), start=timezone.localdate(), facility=full)
    person = person_in(area_tree["dong_cau"])

    [pk] = quarantine.orders_for_level([person.pk], "F1")

    order = QuarantineOrder.objects.get(pk=pk)
    assert order.facility is None and order.kind == QuarantineRule.KIND_FACILITY
    assert order.area == area_tree["dong_cau"]


def test_f2_is_home_quarantine_for_7_days_and_a_level_without_rule_orders_nothing(rules, area_tree):
    person = person_in(area_tree["dong_cau"])
    assert quarantine.orders_for_level([person.pk], "F3") == []

    [pk] = quarantine.orders_for_level([person.pk], "F2")

    order = QuarantineOrder.objects.get(pk=pk)
    assert (order.kind, order.facility, order.area) == (QuarantineRule.KIND_HOME, None, area_tree["dong_cau"])
    assert order.planned_end - order.start_date == timedelta(days=7)


def test_a_person_never_has_two_active_orders(rules, area_tree):
    persons = [person_in(area_tree["dong_cau"], f"Người {n}") for n in range(2)]
    ids = [p.pk for p in persons]
    first = quarantine.orders_for_level(ids, "F2")

    assert quarantine.orders_for_level(ids, "F2") == []  # run twice: nothing more
    assert quarantine.orders_for_level(ids, "F1") == []  # raised to F1 while at home: same order
    assert len(first) == 2
    assert QuarantineOrder.objects.filter(status=QuarantineOrder.STATUS_ACTIVE).count() == 2


def test_hundreds_of_persons_are_ordered_in_a_few_queries(rules, area_tree, django_assert_max_num_queries):
    facility(area_tree["suoi_tan"], 150)
    facility(area_tree["cam_duc"], 100)
    persons = Person.objects.bulk_create(
        Person(full_name=f"Người {n}", name_folded=f"nguoi {n}", home_area=area_tree["dong_cau"])
        for n in range(300)
    )

    # A handful of reads, then the INSERT: one on PostgreSQL, a few on SQLite (999 parameters a statement).
    with django_assert_max_num_queries(12):
        new = quarantine.orders_for_level([p.pk for p in persons], "F1")

    assert len(new) == 300
    counts = sorted(entry["active"] for entry in quarantine.occupancy().values())
    assert counts == [100, 150]  # both full; the last 50 wait for the area team to place them
    assert QuarantineOrder.objects.filter(facility=None).count() == 50


def test_a_new_case_is_expanded_with_its_follow_ups_in_six_statements_whatever_its_size(
    postgres, rules, area_tree, django_assert_max_num_queries
):
    """PostgreSQL: the walk with the raise and its history, the rules, the F1s' placement, the
    orders, the tests and the events: one statement each, however many contacts."""
    home_facility = facility(area_tree["suoi_tan"], 5)
    case = person_in(area_tree["dong_cau"], "Ca bệnh")
    f1s = Person.objects.bulk_create(
        Person(full_name=f"Tiếp xúc {n}", name_folded=f"tiep xuc {n}", home_area=area_tree["dong_cau"])
        for n in range(8)
    )
    f2s = Person.objects.bulk_create(
        Person(full_name=f"Người nhà {n}", name_folded=f"nguoi nha {n}", home_area=area_tree["suoi_tan"])
        for n in range(120)
    )
    Contact.objects.bulk_create(
        [Contact(person=case, contact=f1, found_by=Contact.FOUND_INTERVIEW) for f1 in f1s]
        + [Contact(person=f2, contact=f1s[n % 8], found_by=Contact.FOUND_IMPORT) for n, f2 in enumerate(f2s)]
    )
    order_for(f1s[0], start=timezone.localdate())  # already at home: keeps that order, takes no bed

    with django_assert_max_num_queries(6):
        new = classify.case_expand(case.pk, depth=2, job="job:1")

    assert new == {"F1": [p.pk for p in f1s], "F2": [p.pk for p in f2s]}
    at_facility = QuarantineOrder.objects.filter(kind=QuarantineRule.KIND_FACILITY)
    assert at_facility.count() == 7
    assert at_facility.filter(facility=home_facility).count() == 5  # full; two wait for the area team
    assert at_facility.filter(facility=None, area=area_tree["dong_cau"]).count() == 2
    at_home = QuarantineOrder.objects.filter(kind=QuarantineRule.KIND_HOME, level="F2")
    assert at_home.count() == 120 and set(at_home.values_list("area", flat=True)) == {
        area_tree["suoi_tan"].pk
    }
    [reason] = {order.reason for order in at_home}
    assert f"#{case.pk}" in reason
    assert SampleRequest.objects.filter(reason=SampleRequest.REASON_F1).count() == 8
    kinds = list(Event.objects.order_by("pk").values_list("kind", flat=True))
    assert kinds == ["tracing.classified", "quarantine.changed"]


def test_occupancy_counts_active_facility_orders_against_capacity(area_tree):
    one = facility(area_tree["suoi_tan"], 3)
    other = facility(area_tree["cam_duc"], None)
    persons = [person_in(area_tree["dong_cau"], f"Người {n}") for n in range(3)]
    for person in persons:
        order_for(person, start=timezone.localdate(), facility=one)
    QuarantineOrder.objects.filter(person=persons[0]).update(status=QuarantineOrder.STATUS_COMPLETED)

    assert quarantine.occupancy() == {
        one.pk: {"capacity": 3, "active": 2},
        other.pk: {"capacity": None, "active": 0},
    }


# --- travellers ------------------------------------------------------------------------------


def test_an_arrival_from_a_hot_area_gets_home_quarantine_and_one_from_elsewhere_none(
    queues,  # noqa: F811 - fixtures imported above
    tracing_forms,
    bearer,  # noqa: F811
    area_tree,
):
    tracing = TracingSettings.load()
    tracing.hot_origins = "79\nBình Dương"  # a value, and a label as staff might type it
    tracing.save()
    hot = {"person": PERSON, "direction": "in", "origin": "79", "destination": "22711-02"}
    submit(tracing_forms["checkpoint"], hot, bearer)
    labelled = {"full_name": "Lê Văn Dũng", "birth_year": 1985, "national_id": "056085000777"}
    submit(tracing_forms["checkpoint"], {"person": labelled, "direction": "in", "origin": "74"}, bearer)
    elsewhere = {"full_name": "Phạm Thị Em", "birth_year": 1999, "national_id": "056199000456"}
    submit(tracing_forms["checkpoint"], {"person": elsewhere, "direction": "in", "origin": "54"}, bearer)
    leaving = {"full_name": "Võ Văn Phúc", "birth_year": 1970, "national_id": "056070000999"}
    submit(tracing_forms["checkpoint"], {"person": leaving, "direction": "out", "origin": "79"}, bearer)

    orders = {o.person.national_id: o for o in QuarantineOrder.objects.select_related("person")}
    assert set(orders) == {NATIONAL_ID, "056085000777"}
    order = orders[NATIONAL_ID]
    assert order.kind == QuarantineRule.KIND_HOME and order.facility is None
    assert order.area == area_tree["dong_cau"]
    assert order.planned_end - order.start_date == timedelta(days=tracing.traveller_quarantine_days)
    assert order.source_submission.data["origin"] == hot["origin"]
    assert "TP. Hồ Chí Minh" in order.reason


# --- check-ins and alerts ----------------------------------------------------------------------


def test_a_check_in_attaches_to_the_active_order_and_raises_nothing_when_well(
    queues,  # noqa: F811
    tracing_forms,
    bearer,  # noqa: F811
    area_tree,
):
    person = person_in(area_tree["dong_cau"], PERSON["full_name"], national_id=NATIONAL_ID, birth_year=1990)
    order = order_for(person, start=timezone.localdate() - timedelta(days=2))

    submission = submit(
        tracing_forms["checkin"], {"person": PERSON, "temperature": 36.8, "spo2": 98, "symptoms": []}, bearer
    )

    checkin = QuarantineCheckIn.objects.get()
    assert (checkin.order, checkin.submission, checkin.date) == (order, submission, timezone.localdate())
    assert (checkin.temperature, checkin.spo2, checkin.symptoms) == (Decimal("36.8"), 98, [])
    assert not Alert.objects.exists() and not SampleRequest.objects.exists()


def test_fever_low_spo2_and_symptoms_raise_an_alert_each_and_ask_for_a_test_once(
    queues,  # noqa: F811
    tracing_forms,
    bearer,  # noqa: F811
    area_tree,
):
    person = person_in(area_tree["dong_cau"], PERSON["full_name"], national_id=NATIONAL_ID, birth_year=1990)
    order = order_for(person, start=timezone.localdate() - timedelta(days=2))

    submission = submit(
        tracing_forms["checkin"],
        {"person": PERSON, "temperature": 37.5, "spo2": 94, "symptoms": ["ho"]},
        bearer,
    )
    quarantine.checkins_record(accepted_with_person(submission, person))  # the job again: nothing new

    alerts = {a.kind: a for a in Alert.objects.all()}
    assert set(alerts) == {Alert.KIND_FEVER, Alert.KIND_LOW_SPO2, Alert.KIND_SYMPTOMS}
    assert alerts[Alert.KIND_FEVER].key == f"fever:{submission.pk}"
    assert "Ho" in alerts[Alert.KIND_SYMPTOMS].message
    assert all(
        a.order == order and a.person == person and a.area == area_tree["dong_cau"] for a in alerts.values()
    )
    [request] = SampleRequest.objects.all()
    assert (request.person, request.reason, request.status) == (
        person,
        SampleRequest.REASON_SYMPTOMS,
        "open",
    )
    assert QuarantineCheckIn.objects.count() == 1


def test_a_check_in_without_an_active_order_is_not_kept_but_its_fever_is_raised(
    queues,  # noqa: F811
    tracing_forms,
    bearer,  # noqa: F811
):
    submit(tracing_forms["checkin"], {"person": PERSON, "temperature": 38.4}, bearer)

    assert not QuarantineCheckIn.objects.exists()
    [alert] = Alert.objects.all()
    assert alert.kind == Alert.KIND_FEVER and alert.order is None
    assert SampleRequest.objects.filter(person=alert.person).exists()


def accepted_with_person(submission, person):
    payload = {"form": submission.form_id, "client_id": str(submission.client_id)}
    [item] = accepted_of([Event(key=f"again:{submission.pk}", payload=payload)])
    item.persons = {"person": person}
    return [item]


# --- the daily missed check-in alert ---------------------------------------------------------


def test_an_order_without_a_check_in_today_raises_one_alert_a_day(area_tree, checkin_form):
    today = timezone.localdate()
    checked = order_for(person_in(area_tree["dong_cau"], "Đã báo"), start=today - timedelta(days=3))
    missed = order_for(person_in(area_tree["dong_cau"], "Chưa báo"), start=today - timedelta(days=3))
    order_for(person_in(area_tree["dong_cau"], "Mới vào"), start=today)  # its first day is not over
    ended = order_for(person_in(area_tree["dong_cau"], "Đã xong"), start=today - timedelta(days=20))
    QuarantineOrder.objects.filter(pk=ended.pk).update(status=QuarantineOrder.STATUS_COMPLETED)
    QuarantineCheckIn.objects.create(order=checked, submission=a_submission(), date=today)

    assert quarantine.missed_checkins_alert(today) == 1
    assert quarantine.missed_checkins_alert(today) == 0  # run twice: the same alerts

    [alert] = Alert.objects.all()
    assert (alert.kind, alert.order, alert.person) == (Alert.KIND_MISSED_CHECKIN, missed, missed.person)
    assert alert.key == f"missed_checkin:{missed.pk}:{today.isoformat()}"
    assert quarantine.missed_checkins_alert(today + timedelta(days=1)) == 3  # tomorrow: all three active


def test_the_areas_team_is_told_of_new_alerts_once_committed(
    area_tree, make_user, monkeypatch, django_capture_on_commit_callbacks
):
    told = []
    monkeypatch.setattr("tracing.notify.publish_to_user", lambda user, notice: told.append((user, notice)))
    team = make_user("doi.camlam", area=area_tree["cam_lam"], superuser=True)
    make_user("doi.nhatrang", area=area_tree["nha_trang"], superuser=True)  # another district
    order_for(person_in(area_tree["dong_cau"]), start=timezone.localdate() - timedelta(days=1))

    with django_capture_on_commit_callbacks(execute=True):
        quarantine.missed_checkins_alert()
    with django_capture_on_commit_callbacks(execute=True):
        quarantine.missed_checkins_alert()  # nothing new: nobody is told again

    [alert] = Alert.objects.all()
    assert told == [(team.pk, {"type": quarantine.ALERT_NOTICE, "count": 1, "alerts": [alert.pk]})]


def a_submission() -> Submission:
    """Any stored submission: a check-in made by hand needs one."""
    from forms_engine.models import FormPage

    form = FormPage.objects.get(slug="theo-doi")
    return Submission.objects.create(form=form, version=form.current_version, data={})


@pytest.fixture
def checkin_form(tracing_forms):
    return tracing_forms["checkin"]


def test_the_daily_run_is_recorded_once_after_the_deadline_hour_and_its_job_raises_the_alerts(
    queues,  # noqa: F811
    checkin_form,
    area_tree,
    settings,
):
    settings.TRACING_CHECKIN_DEADLINE_HOUR = 20
    today = timezone.localdate()
    order = order_for(person_in(area_tree["dong_cau"]), start=today - timedelta(days=1))
    evening = timezone.make_aware(datetime.combine(today, datetime.min.time()) + timedelta(hours=21))

    assert quarantine.missed_checkins_due(evening - timedelta(hours=2)) is False  # 19:00: too early
    assert quarantine.missed_checkins_due(evening) is True
    assert quarantine.missed_checkins_due(evening + timedelta(minutes=5)) is False  # once a day
    relay_pending()
    burst()

    [alert] = Alert.objects.all()
    assert alert.order == order and alert.key.endswith(today.isoformat())
    assert Event.objects.filter(kind=quarantine.CHECKINS_DUE).count() == 1


# --- the end of an order -----------------------------------------------------------------------


def test_a_release_completes_the_active_order_once_the_workflow_accepts_it(
    queues,  # noqa: F811
    tracing_forms,
    bearer,  # noqa: F811
    area_tree,
    make_user,
):
    form = approval_required(tracing_forms["release"])  # the facility head approves, as in the demo
    person = person_in(area_tree["dong_cau"], PERSON["full_name"], national_id=NATIONAL_ID, birth_year=1990)
    order = order_for(person, start=timezone.localdate() - timedelta(days=14))
    data = {"person": PERSON, "release_date": timezone.localdate().isoformat()}
    response = Client().post(
        f"/api/v1/forms/{form.slug}/submissions",
        json.dumps({"client_id": str(uuid.uuid4()), "data": data}),
        content_type="application/json",
        **bearer,
    )
    assert response.json()["status"] == "in_review"
    submission = Submission.objects.get(form=form)
    relay_pending()
    burst()
    order.refresh_from_db()
    assert order.status == QuarantineOrder.STATUS_ACTIVE  # nothing before the decision

    head = Client()
    head.force_login(make_user("truongkhu.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER))
    assert act(head, submission, "approve", fields=current_fields(head, submission)).status_code == 302
    relay_pending()
    burst()

    order.refresh_from_db()
    assert order.status == QuarantineOrder.STATUS_COMPLETED
    assert order.release_submission == submission and order.ended_at is not None


def test_staff_mark_an_order_broken_with_a_reason_and_only_once(area_tree, make_user):
    user = make_user("cachly", area=area_tree["cam_lam"])
    order = order_for(person_in(area_tree["dong_cau"]), start=timezone.localdate())

    with pytest.raises(ValidationError):
        quarantine.order_end(order, QuarantineOrder.STATUS_COMPLETED, user=user, note="Đủ ngày")
    with pytest.raises(ValidationError):
        quarantine.order_end(order, QuarantineOrder.STATUS_BROKEN, user=user, note="  ")
    quarantine.order_end(order, QuarantineOrder.STATUS_BROKEN, user=user, note="Tự ý rời nơi cách ly")

    assert order.status == QuarantineOrder.STATUS_BROKEN and order.ended_at is not None
    with pytest.raises(ValidationError):
        quarantine.order_end(order, QuarantineOrder.STATUS_TRANSFERRED, user=user, note="Chuyển viện")


def test_without_redis_opening_the_dashboard_after_the_hour_runs_the_days_check(
    checkin_form, area_tree, make_user, settings, django_capture_on_commit_callbacks
):
    """``make run`` without Redis has no scheduler process: jobs run in the web process."""
    from website.settings.environment import rq_queues_config

    settings.RQ_QUEUES = rq_queues_config({})  # synchronous, in-process queues
    settings.TRACING_CHECKIN_DEADLINE_HOUR = 0  # any time of day is past it
    order = order_for(person_in(area_tree["dong_cau"]), start=timezone.localdate() - timedelta(days=1))
    client = Client()
    client.force_login(make_user("admin", superuser=True))

    with django_capture_on_commit_callbacks(execute=True):
        assert client.get("/admin/").status_code == 200
    client.get("/admin/")  # again: nothing more

    [alert] = Alert.objects.all()
    assert (alert.kind, alert.order) == (Alert.KIND_MISSED_CHECKIN, order)
    assert Event.objects.filter(kind=quarantine.CHECKINS_DUE).count() == 1
