"""QR check-ins, co-location exposure around a new case, and workplace clusters."""

import json
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone

from forms_engine.models import Submission
from places.folding import fold
from places.models import Place
from realtime.publish import user_group
from tests.forms_engine.conftest import bearer, home, officer, public_form  # noqa: F401
from tests.workflows.conftest import burst, queues  # noqa: F401
from tracing import exposure
from tracing.exposure import checkins_record, cluster_counts, colocation_expose, workplaces_record
from tracing.handlers import CASE_CONFIRMED, Accepted
from tracing.models import (
    LEVEL_SUSPECTED,
    Alert,
    CheckIn,
    Cluster,
    ClusterMember,
    Contact,
    Person,
    QuarantineOrder,
    TestRequest,
    TracingSettings,
)
from tracing.notify import area_teams
from website.demo.forms import HEALTH_DECLARATION, TRACING, demo_form_upsert
from workflows.outbox import event_record, relay_pending

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


# --- builders -----------------------------------------------------------------------------


def person(name, *, area=None, **fields) -> Person:
    return Person.objects.create(full_name=name, name_folded=fold(name), home_area=area, **fields)


@pytest.fixture
def places(area_tree):
    def place(kind, name, code, area):
        return Place.objects.create(kind=kind, name=name, code=code, area=area_tree[area])

    return {
        "market": place(Place.KIND_VENUE, "Chợ Suối Tân", "DD-CHOST", "suoi_tan"),
        "shop": place(Place.KIND_VENUE, "Siêu thị Cam Đức", "DD-STCD", "cam_duc"),
        "park": place(Place.KIND_INDUSTRIAL_PARK, "KCN Suối Dầu", "KCN-SDAU", "suoi_tan"),
        "checkpoint": place(Place.KIND_CHECKPOINT, "Chốt QL1A Cam Lâm", "CK-QL1A", "cam_lam"),
    }


@pytest.fixture
def visit(public_form):  # noqa: F811 - the fixture imported above
    """``visit(person, place, at)``: a check-in with the declaration it came from."""
    version = public_form.versions.get()

    def make(who, place, at) -> CheckIn:
        submission = Submission.objects.create(
            form=public_form, version=version, data={}, place=place, client_created_at=at
        )
        return CheckIn.objects.create(person=who, place=place, at=at, submission=submission)

    return make


@pytest.fixture
def case(area_tree):
    """A case confirmed now (F0), living in Thôn Đồng Cau."""
    return person("Nguyễn Văn Ca", area=area_tree["dong_cau"], level="F0", level_at=timezone.now())


def settings_set(**values) -> None:
    rules = TracingSettings.load()
    for name, value in values.items():
        setattr(rules, name, value)
    rules.save()


# --- check-ins ----------------------------------------------------------------------------


def test_a_health_declaration_by_qr_is_checked_in_once_by_its_job(
    queues,  # noqa: F811 - fixtures imported above
    home,  # noqa: F811
    area_tree,
    places,
):
    form = demo_form_upsert(HEALTH_DECLARATION, home=home, area=area_tree["province"])
    filled_at = timezone.now() - 3 * HOUR  # sent later: the phone was offline at the market
    data = {
        "person": {"full_name": "Trần Thị Bình", "birth_year": 1990, "phone": "+84905123456"},
        "exposure": False,
        "consent": True,
    }
    body = {
        "client_id": str(uuid.uuid4()),
        "data": data,
        "qr": places["market"].code.lower(),
        "client_created_at": filled_at.isoformat(),
    }
    response = Client().post(
        f"/api/v1/forms/{form.slug}/submissions", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    relay_pending()
    burst()

    [checkin] = CheckIn.objects.select_related("person", "submission")
    assert checkin.place == places["market"] and checkin.person.full_name == "Trần Thị Bình"
    assert checkin.at == filled_at and checkin.submission.client_id == uuid.UUID(body["client_id"])
    item = Accepted(event_key="again", submission=checkin.submission, persons={"person": checkin.person})
    checkins_record([item])  # the job run again
    assert CheckIn.objects.count() == 1


def test_a_device_clock_ahead_of_the_server_does_not_date_the_checkin(public_form, places):  # noqa: F811
    received = timezone.now()
    submission = Submission.objects.create(
        form=public_form,
        version=public_form.versions.get(),
        data={},
        place=places["market"],
        client_created_at=received + timedelta(days=2),
        created_at=received,
    )
    checkins_record([Accepted("k", submission, {"person": person("Lê Thị Cúc")})])
    assert CheckIn.objects.get().at == received


def test_a_submission_without_place_or_person_is_no_checkin(public_form, places):  # noqa: F811
    version = public_form.versions.get()
    without_place = Submission.objects.create(form=public_form, version=version, data={})
    without_person = Submission.objects.create(
        form=public_form, version=version, data={}, place=places["shop"]
    )
    checkins_record(
        [
            Accepted("a", without_place, {"person": person("Lê Văn Dũng")}),
            Accepted("b", without_person, {}),
        ]
    )
    assert not CheckIn.objects.exists()


# --- co-location windows ------------------------------------------------------------------


def test_only_others_at_the_same_place_within_the_window_are_exposed(case, places, visit):
    market, shop = places["market"], places["shop"]
    seen_at = timezone.now() - 26 * HOUR
    visit(case, market, seen_at)
    visit(case, market, seen_at + 30 * timedelta(minutes=1))  # the case's own second check-in
    inside = person("Phạm Văn Trong")
    visit(inside, market, seen_at + 110 * timedelta(minutes=1))
    before = person("Phạm Thị Trước")
    visit(before, market, seen_at - 2 * HOUR)  # exactly the window's edge: counts
    outside = person("Đỗ Văn Ngoài")
    visit(outside, market, seen_at + 3 * HOUR)
    elsewhere = person("Vũ Thị Khác")
    visit(elsewhere, shop, seen_at)
    merged = person("Phạm Văn Trong (trùng)", merged_into=inside)
    visit(merged, market, seen_at)
    long_ago = person("Hồ Văn Cũ")  # beside the case, but before the 14-day look-back
    visit(case, shop, timezone.now() - timedelta(days=15))
    visit(long_ago, shop, timezone.now() - timedelta(days=15))

    assert colocation_expose(case.pk) == sorted([inside.pk, before.pk])

    settings_set(colocation_window_minutes=200)
    assert colocation_expose(case.pk) == sorted([inside.pk, before.pk, outside.pk])
    settings_set(colocation_days=20)
    assert long_ago.pk in colocation_expose(case.pk)


def test_the_look_back_ends_at_the_confirmation(area_tree, places, visit):
    confirmed = timezone.now() - timedelta(days=10)
    case = person("Ngô Văn Cũ", level="F0", level_at=confirmed)
    neighbour = person("Ngô Thị Bên")
    visit(case, places["market"], confirmed - timedelta(days=13))  # 13 days before: counts
    visit(neighbour, places["market"], confirmed - timedelta(days=13))
    later = person("Ngô Văn Sau")  # after the confirmation: the case was isolated by then
    visit(case, places["shop"], confirmed + timedelta(days=1))
    visit(later, places["shop"], confirmed + timedelta(days=1))
    assert colocation_expose(case.pk) == [neighbour.pk]


def test_a_case_without_checkins_exposes_no_one(case):
    assert colocation_expose(case.pk) == []
    assert not Alert.objects.exists() and not Contact.objects.exists()


# --- what an exposure records -------------------------------------------------------------


def test_the_exposed_get_a_contact_edge_per_setting_one_alert_each_and_become_suspected(
    case, places, visit, area_tree
):
    seen_at = timezone.now() - 5 * HOUR
    visit(case, places["market"], seen_at)
    visit(case, places["park"], seen_at - 24 * HOUR)
    visit(case, places["checkpoint"], seen_at - 48 * HOUR)
    worker = person("Trịnh Văn Công", area=area_tree["vinh_luong"])  # at the market and the park
    visit(worker, places["park"], seen_at - 24 * HOUR + HOUR)
    visit(worker, places["market"], seen_at)
    driver = person("Lý Văn Xe")  # no home area: the checkpoint's area is the alert's
    visit(driver, places["checkpoint"], seen_at - 48 * HOUR)

    assert colocation_expose(case.pk, job="case.confirmed:test") == sorted([worker.pk, driver.pk])

    edges = set(Contact.objects.values_list("person_id", "contact_id", "found_by", "setting", "place__code"))
    assert edges == {
        (case.pk, worker.pk, "colocation", Contact.SETTING_INDUSTRIAL_PARK, "KCN-SDAU"),
        (case.pk, worker.pk, "colocation", Contact.SETTING_VENUE, "DD-CHOST"),
        (case.pk, driver.pk, "colocation", Contact.SETTING_TRANSPORT, "CK-QL1A"),
    }
    park_edge = Contact.objects.get(setting=Contact.SETTING_INDUSTRIAL_PARK)
    assert park_edge.exposure_date == timezone.localdate(seen_at - 23 * HOUR)

    alerts = {a.person_id: a for a in Alert.objects.all()}
    assert set(alerts) == {worker.pk, driver.pk}
    assert alerts[worker.pk].key == f"exposure:{case.pk}:{worker.pk}"
    assert alerts[worker.pk].kind == Alert.KIND_EXPOSURE
    assert alerts[worker.pk].area == area_tree["vinh_luong"]  # the home area
    assert "KCN Suối Dầu" in alerts[worker.pk].message  # the earliest exposure
    assert timezone.localtime(seen_at - 23 * HOUR).strftime("%H:%M") in alerts[worker.pk].message
    assert alerts[driver.pk].area == area_tree["cam_lam"]  # the checkpoint's area

    levels = dict(Person.objects.filter(pk__in=[worker.pk, driver.pk]).values_list("pk", "level"))
    assert levels == {worker.pk: LEVEL_SUSPECTED, driver.pk: LEVEL_SUSPECTED}
    tests = set(TestRequest.objects.values_list("person_id", "reason", "status"))
    assert tests == {(worker.pk, "exposure", "open"), (driver.pk, "exposure", "open")}

    counts = (Contact.objects.count(), Alert.objects.count(), TestRequest.objects.count())
    assert colocation_expose(case.pk, job="case.confirmed:test") == sorted([worker.pk, driver.pk])
    assert (Contact.objects.count(), Alert.objects.count(), TestRequest.objects.count()) == counts


def test_a_higher_level_is_not_lowered_by_an_exposure(case, places, visit):
    seen_at = timezone.now() - HOUR
    visit(case, places["market"], seen_at)
    contact = person("Đinh Văn Một", level="F1", level_at=timezone.now())
    visit(contact, places["market"], seen_at)
    assert colocation_expose(case.pk) == [contact.pk]
    contact.refresh_from_db()
    assert contact.level == "F1"
    assert Alert.objects.filter(person=contact).count() == 1
    assert not TestRequest.objects.exists()  # an F1 is tested as an F1 (classify.py)


# --- the tracing team's live notice ------------------------------------------------------


@pytest.fixture
def teams(area_tree, make_user):
    """Users of several areas, with and without the right to see alerts."""
    view_alert = Permission.objects.get(content_type__app_label="tracing", codename="view_alert")
    tracers = Group.objects.create(name="Tổ truy vết")
    tracers.permissions.add(view_alert)

    def user(name, area=None, *, group=False, direct=False, active=True, **kw):
        made = make_user(name, area=area_tree[area] if area else None, **kw)
        if not active:
            made.is_active = False
            made.save(update_fields=["is_active"])
        if group:
            made.groups.add(tracers)
        if direct:
            made.user_permissions.add(view_alert)
        return made

    return {
        "commune": user("truyvet.suoitan", "suoi_tan", group=True),
        "district": user("truyvet.camlam", "cam_lam", direct=True),
        "province": user("truyvet.tinh", "province", group=True),
        "superuser_in_district": user("admin.camlam", "cam_lam", superuser=True),
        "other_district": user("truyvet.nhatrang", "nha_trang", group=True),
        "other_commune": user("truyvet.camduc", "cam_duc", group=True),
        "no_permission": user("canbo.suoitan", "suoi_tan"),
        "superuser_without_area": user("admin", superuser=True),
        "no_area": user("truyvet.khong", group=True),
        "inactive": user("truyvet.nghi", "suoi_tan", group=True, active=False),
    }


def test_the_team_is_the_active_users_of_the_area_and_above_who_may_see_alerts(teams, area_tree):
    expected = {teams[n].pk for n in ("commune", "district", "province", "superuser_in_district")}
    assert area_teams([area_tree["dong_cau"].pk]) == {area_tree["dong_cau"].pk: expected}


def test_the_exposure_notice_reaches_only_the_team_of_the_persons_area(
    case, places, visit, area_tree, teams, django_capture_on_commit_callbacks
):
    seen_at = timezone.now() - HOUR
    visit(case, places["market"], seen_at)
    neighbours = [person(f"Hàng Xóm {n}", area=area_tree["dong_cau"]) for n in range(2)]
    for neighbour in neighbours:
        visit(neighbour, places["market"], seen_at)
    told = {teams[n].pk for n in ("commune", "district", "province", "superuser_in_district")}

    def expose():
        with django_capture_on_commit_callbacks(execute=True):
            return colocation_expose(case.pk)

    async def scenario():
        layer = get_channel_layer()
        channels = {}
        for user in teams.values():
            channels[user.pk] = await layer.new_channel()
            await layer.group_add(user_group(user.pk), channels[user.pk])
        exposed = await sync_to_async(expose)()
        received = {}
        for user_id, channel in channels.items():
            # A marker after the notice: whoever was not told reads the marker first.
            await layer.send(channel, {"type": "marker"})
            received[user_id] = await layer.receive(channel)
            await layer.group_discard(user_group(user_id), channel)
        return exposed, received

    exposed, received = async_to_sync(scenario)()
    assert exposed == sorted(n.pk for n in neighbours)
    alert_ids = sorted(Alert.objects.values_list("pk", flat=True))
    notice = {"type": "live.event", "event": {"type": "tracing.exposure", "count": 2, "alerts": alert_ids}}
    assert {user for user, message in received.items() if message != {"type": "marker"}} == told
    assert all(received[user] == notice for user in told)

    with django_capture_on_commit_callbacks() as callbacks:
        colocation_expose(case.pk)
    assert callbacks == []  # a rerun tells no one again


def test_a_confirmed_case_event_exposes_through_the_worker(
    queues,  # noqa: F811 - fixture imported above
    case,
    places,
    visit,
):
    visit(case, places["market"], timezone.now() - HOUR)
    neighbour = person("Quách Thị Gần")
    visit(neighbour, places["market"], timezone.now() - HOUR)
    event_record(kind=CASE_CONFIRMED, key=f"case:{case.pk}", payload={"person": case.pk, "submission": None})
    relay_pending()
    burst()
    assert Alert.objects.get().person == neighbour
    assert Contact.objects.get().contact == neighbour


def test_the_event_handler_reports_how_many_were_exposed(case, places, visit):
    visit(case, places["market"], timezone.now() - HOUR)
    visit(person("Quách Văn Xa"), places["market"], timezone.now() - HOUR)

    class Event:
        key = "case.confirmed:1"
        payload = {"person": case.pk, "submission": None}

    assert exposure.colocation_expose_event(Event()) == {"exposed": 1}


def test_an_accepted_interview_confirms_the_case_exposes_its_neighbours_and_makes_its_cluster(
    queues,  # noqa: F811 - fixtures imported above
    home,  # noqa: F811
    bearer,  # noqa: F811
    area_tree,
    places,
    visit,
):
    """The whole path with a real worker: interview → F0 → case.confirmed → co-location."""
    form = demo_form_upsert(TRACING, home=home, area=area_tree["province"])
    case = person("Hoàng Văn Ca", national_id="056190000001", birth_year=1990)
    seen_at = timezone.now() - 3 * HOUR
    visit(case, places["market"], seen_at)
    neighbour = person("Hoàng Thị Gần", area=area_tree["dong_cau"])
    visit(neighbour, places["market"], seen_at + 30 * timedelta(minutes=1))
    data = {
        "interviewee": "case",
        "case": {"full_name": "Hoàng Văn Ca", "national_id": "056190000001", "birth_year": 1990},
        "workplace": places["park"].code,
        "workshop": "Xưởng May 2",
        "sample_date": timezone.localdate().isoformat(),
    }
    body = json.dumps({"client_id": str(uuid.uuid4()), "data": data})
    response = Client().post(
        f"/api/v1/forms/{form.slug}/submissions", body, content_type="application/json", **bearer
    )
    assert response.status_code == 201, response.content
    for _ in range(2):  # the interview's job, then the case.confirmed event it recorded
        relay_pending()
        burst()

    case.refresh_from_db()
    assert case.level == "F0" and case.workplace == places["park"]
    cluster = Cluster.objects.get()
    assert cluster.name == "KCN Suối Dầu — Xưởng May 2" and members(cluster) == {case.pk}
    neighbour.refresh_from_db()
    assert neighbour.level == LEVEL_SUSPECTED
    assert Alert.objects.get().person == neighbour
    assert Contact.objects.get(found_by=Contact.FOUND_COLOCATION).contact == neighbour


# --- workplace clusters -------------------------------------------------------------------


@pytest.fixture
def interview(home, area_tree):  # noqa: F811 - fixture imported above
    """``interview(case, workplace, workshop)``: an accepted tracing interview of the demo form."""
    form = demo_form_upsert(TRACING, home=home, area=area_tree["province"])
    version = form.versions.order_by("-number").first()

    def make(case, workplace="", workshop="", subject="case"):
        data = {
            "interviewee": subject,
            "case": {"full_name": case.full_name, "birth_year": 1990},
            "workplace": workplace,
            "workshop": workshop,
            "sample_date": "2021-07-20",
        }
        submission = Submission.objects.create(form=form, version=version, data=data)
        return Accepted(event_key=f"accepted:{submission.pk}", submission=submission, persons={"case": case})

    return make


def colleague_of(item, who, setting):
    Contact.objects.create(
        person=item.person,
        contact=who,
        setting=setting,
        found_by=Contact.FOUND_INTERVIEW,
        source_submission=item.submission,
    )


def members(cluster) -> set[int]:
    return set(cluster.members.values_list("person_id", flat=True))


def test_an_interview_joins_the_case_and_its_workmates_to_the_workshops_cluster(interview, places):
    case = person("Mai Văn Xưởng", level="F0")
    item = interview(case, workplace=places["park"].code, workshop="Xưởng May 2")
    workmate = person("Mai Thị Chuyền", level="F1")
    parkmate = person("Mai Văn Cổng", level="F1")
    wife = person("Mai Thị Nhà", level="F1")
    colleague_of(item, workmate, Contact.SETTING_WORKPLACE)
    colleague_of(item, parkmate, Contact.SETTING_INDUSTRIAL_PARK)
    colleague_of(item, wife, Contact.SETTING_HOUSEHOLD)

    workplaces_record([item])
    cluster = Cluster.objects.get()
    assert cluster.name == "KCN Suối Dầu — Xưởng May 2" and cluster.place == places["park"]
    assert cluster.workshop_folded == "xuong may 2" and cluster.first_case == case
    assert members(cluster) == {case.pk, workmate.pk, parkmate.pk}
    case.refresh_from_db()
    assert case.workplace == places["park"]

    later = person("Đào Văn Sau")
    second = interview(later, workplace=places["park"].code, workshop="xuong  MAY 2")
    workplaces_record([second, item])  # the same workshop written otherwise; the first again
    assert Cluster.objects.count() == 1
    cluster.refresh_from_db()
    assert cluster.first_case == case and members(cluster) == {case.pk, workmate.pk, parkmate.pk, later.pk}
    assert ClusterMember.objects.count() == 4


def test_a_workplace_already_recorded_is_kept_and_no_workshop_means_the_park(interview, places):
    case = person("Lâm Văn Giữ", workplace=places["market"])
    workplaces_record([interview(case, workplace=places["park"].code)])
    case.refresh_from_db()
    assert case.workplace == places["market"]
    assert Cluster.objects.get().name == "KCN Suối Dầu"


def test_an_interview_without_a_known_workplace_makes_no_cluster(interview):
    workplaces_record(
        [interview(person("Lâm Thị Nhà")), interview(person("Lâm Văn Lạ"), workplace="KCN-KHONG")]
    )
    assert not Cluster.objects.exists()


def test_an_interview_of_a_contact_makes_no_cluster(interview, places):
    """A cluster is the cases' (its first case starts it): an F1 asked for their own contacts
    at work is no case of it."""
    workplaces_record(
        [interview(person("Lâm Văn Phụ", level="F1"), workplace=places["park"].code, subject="contact")]
    )
    assert not Cluster.objects.exists()


def test_cluster_counts_by_level_and_quarantine(interview, places):
    case = person("Tô Văn Đầu", level="F0")
    item = interview(case, workplace=places["park"].code, workshop="Đóng gói")
    mates = [
        person(f"Tô Thị {n}", level=level) for n, level in enumerate(["F1", "F1", "F2", "suspected", ""])
    ]
    for mate in mates:
        colleague_of(item, mate, Contact.SETTING_WORKPLACE)
    today = timezone.localdate()
    for mate, status in ((mates[0], "active"), (mates[1], "completed")):
        QuarantineOrder.objects.create(
            person=mate, kind="facility", start_date=today, planned_end=today, status=status
        )
    workplaces_record([item])
    cluster = Cluster.objects.get()
    empty = Cluster.objects.create(name="KCN Suối Dầu", place=places["park"], workshop_folded="")

    expected = {"members": 6, "F0": 1, "F1": 2, "F2": 1, "suspected": 1, "in_quarantine": 1}
    zero = dict.fromkeys(expected, 0)
    assert cluster_counts() == {cluster.pk: expected}
    assert cluster_counts([cluster.pk, empty.pk]) == {cluster.pk: expected, empty.pk: zero}


def test_visits_close_together_at_a_place_are_one_range():
    t = timezone.now()
    window = timedelta(minutes=60)
    visits = [(2, t), (1, t + 4 * HOUR), (1, t), (1, t + HOUR)]
    assert exposure.visit_ranges(visits, window=window) == [
        (1, t - window, t + HOUR + window),
        (1, t + 4 * HOUR - window, t + 4 * HOUR + window),
        (2, t - window, t + window),
    ]
