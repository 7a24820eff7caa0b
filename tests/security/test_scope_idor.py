"""The IDOR sweep: a user of district A asks for district B's objects through every URL.

Two districts get one object of every kind that has a URL (persons, submissions under review,
alerts, duplicates, merges, orders, clusters, test requests, places, areas, users, import jobs,
situation reports and their documents, API tokens, editing sessions…). Every URL pattern that
takes an object id is found by walking the URL resolver (Wagtail's admin and django-ninja's
/api/v1/ included) and classified in ``ROUTES``: a new route that nobody classified fails
``test_every_route_with_an_id_is_classified``, so it cannot ship unscoped. Users of A in each
area-limited role then request B's objects: the answer must be 404, or exactly the answer for
an id that does not exist (a refusal by role, which says nothing about B), never B's data.
Listings, searches, choosers and exports must not show B's personal data either, and every
404 to a logged-in user is recorded as a refused access (audit).
"""

import datetime
import json
import re
import uuid
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from wagtail.admin.models import EditingSession
from wagtail.documents import get_document_model
from wagtail.log_actions import log
from wagtail.models import APIToken

from audit.models import AccessRecord
from forms_engine.models import ImportJob, Submission
from places.folding import fold
from places.models import GroupRole, Place
from reports.models import SituationReport
from reports.situation_jobs import report_collection
from tests.factories import approval_required, field, publish_form
from tests.forms_engine.conftest import home  # noqa: F401 - fixture
from tracing.models import Alert, Cluster, DuplicateCandidate, Person, PersonMerge, QuarantineOrder
from tracing.models import TestRequest as SampleRequest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_login_throttling(settings):
    """The sweep logs many users in with force_login; lockout is tested in its own tests."""
    settings.AXES_ENABLED = False


# --- Which object each URL parameter names -------------------------------------------------


@dataclass(frozen=True)
class Skip:
    """A route whose ids name nothing personal or area-bound; ``why`` says so for a reviewer."""

    why: str


PAGES = Skip("pages (forms, guides, dashboards) are not personal data; page permissions apply")
PROVINCE_WIDE = Skip("province-wide configuration without an area (and not personal data)")
PUBLIC_TOKEN = Skip("public by design: a secret token, not an id")

# First match wins. A value names the kind of object (a key of ``District.ids``); "=x" is a
# literal; "?name" adds a query parameter. Every route with a parameter must match one entry.
ROUTES: list[tuple[str, dict | Skip]] = [
    # Django's admin is for superusers only (website/admin_site.py): any id, refused alike.
    (r"^django-admin/", "superuser-site"),
    (r"^admin/certificates/quarantine/", {"pk": "order"}),
    (r"^admin/certificates/test-result/", {"pk": "test_request"}),
    (r"^verify/", PUBLIC_TOKEN),
    (r"^admin/password_reset/confirm/", PUBLIC_TOKEN),
    (r"^admin/api/main/\^documents/", {"pk": "document"}),
    (r"^admin/api/main/\^images/", Skip("images have no area and hold no personal data here")),
    (r"^admin/api/main/\^pages/", PAGES),
    (r"^admin/pages/", PAGES),
    (r"^admin/choose-page/", PAGES),
    (r"^admin/workflows/remove/", PAGES),
    (r"^admin/workflows/", PROVINCE_WIDE),
    (
        r"^admin/bulk/",
        {
            "app_label": "=forms_engine",
            "model_name": "=submission",
            "action": "=approve",
            "?id": "submission",
        },
    ),
    (r"^admin/tag-autocomplete/", Skip("tags by content type: no object")),
    (r"^admin/collections/", PROVINCE_WIDE),
    (
        r"^admin/editing-sessions/ping/",
        {
            "app_label": "=forms_engine",
            "model_name": "=submission",
            "object_id": "submission",
            "session_id": "editing_session",
        },
    ),
    (r"^admin/editing-sessions/release/", Skip("deletes the caller's own session only: {} for any id")),
    (r"^admin/places/<int:pk>/poster", {"pk": "place", "fmt": "=svg"}),
    (r"^admin/submissions/export/", {"form_id": "form", "fmt": "=csv"}),
    (r"^admin/imports/", {"pk": "import_job"}),
    (
        r"^admin/exports/",
        Skip("a random token, answered only to the user who asked (tests/forms_engine/test_exports.py)"),
    ),
    (r"^admin/forms/submissions/", {"page_id": "form"}),
    (r"^admin/redirects/", PROVINCE_WIDE),
    (r"^admin/settings/", PROVINCE_WIDE),
    (
        r"^admin/documents/multiple/create_from_uploaded|^admin/documents/multiple/delete_upload",
        Skip("Wagtail's temporary upload, visible to its own uploader only"),
    ),
    (r"^admin/documents/(edit|delete|usage)/", {"document_id": "document"}),
    (r"^admin/documents/multiple/", {"doc_id": "document"}),
    (r"^admin/documents/chooser/chosen/", {"pk": "document"}),
    (r"^admin/images/", Skip("images have no area and hold no personal data here")),
    (
        r"^admin/submissions/",
        {
            "pk": "submission",
            "revision_id": "revision",
            "revision_id_a": "=earliest",
            "revision_id_b": "=latest",
            "action_name": "=approve",
            "task_state_id": "task_state",
            "workflow_state_id": "workflow_state",
        },
    ),
    (r"^admin/snippets/choose/forms_engine/submission/", {"pk": "submission"}),
    (r"^admin/areas/", {"pk": "area"}),
    (r"^admin/places/", {"pk": "place"}),
    (r"^admin/persons/merge-undo/", {"pk": "merge"}),
    (r"^admin/persons/", {"pk": "person"}),
    (r"^admin/alerts/", {"pk": "alert"}),
    (r"^admin/duplicates/", {"pk": "duplicate"}),
    (r"^admin/quarantine_orders/", {"pk": "order"}),
    (r"^admin/clusters/", {"pk": "cluster"}),
    (r"^admin/quarantine_rules/", PROVINCE_WIDE),
    (r"^admin/situation_reports/", {"pk": "report"}),
    (r"^admin/sites/", PROVINCE_WIDE),
    (r"^admin/users/", {"pk": "user"}),
    (r"^admin/groups/", Skip("groups are roles and teams, not area data; Part E's matrix governs them")),
    (r"^admin/api-tokens/", {"pk": "api_token"}),
    (r"^admin/access_log/", {"pk": "access_record"}),
    (r"^documents/authenticate_with_password/", PROVINCE_WIDE),
    (r"^_util/authenticate_with_password/", PAGES),
    (r"^api/v1/forms/<slug>", {"slug": "form_slug"}),
    (r"^api/v1/cases/", {"case_id": "person"}),
    (r"^entry/", {"slug": "form_slug"}),
    (r"^api/v2/\^pages/", PAGES),
    (r"^api/v2/\^images/", Skip("images have no area and hold no personal data here")),
    (r"^api/v2/\^documents/", {"pk": "document"}),
    (r"^\^\(\?P<path>", PAGES),  # a guide's PDF
]

# Wagtail's documents and API tokens: refused by role before any scope matters (no area role has
# rights on documents or tokens; tokens are for superusers, README's matrix). Their answer is
# Wagtail's "no permission" redirect to the admin's home, with nothing of the object in it,
# though a missing id gets a 404: the id's existence shows, nothing else.
ROLE_REFUSED = re.compile(r"^/admin/(documents|api-tokens)/")
PERMISSION_REDIRECT = "/admin/"
LOGIN_URLS = ("/admin/login/", "/django-admin/login/")

MISSING = {"form_slug": "no-such-form-zz"}  # any other kind: an id no row has
MISSING_ID = "987654321"
PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^()]*\)\??")


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def routes_with_ids() -> list[str]:
    return [route for route in walk(get_resolver().url_patterns) if PARAM.search(route)]


def parameters(route: str) -> list[str]:
    return [a or b for a, b in PARAM.findall(route)]


def classify(route: str):
    for pattern, spec in ROUTES:
        if re.search(pattern, route):
            return spec
    return None


def url_for(route: str, spec: dict, ids: dict) -> str:
    """The route with each parameter replaced by the object it names (or a literal)."""

    def value(name):
        kind = spec[name]
        return kind[1:] if kind.startswith("=") else str(ids[kind])

    path = PARAM.sub(lambda match: value(match.group(1) or match.group(2)), route)
    path = path.replace("^", "").replace("$", "").replace("\\.", ".")
    query = "&".join(f"{name[1:]}={value(name)}" for name in spec if name.startswith("?"))
    return "/" + path + (f"?{query}" if query else "")


def test_every_route_with_an_id_is_classified():
    """Deny by default: a new route that takes an id must say which object it names."""
    unknown = [route for route in routes_with_ids() if classify(route) is None]
    assert not unknown, f"classify these routes in ROUTES (tests/security/test_scope_idor.py): {unknown}"
    unnamed = [
        (route, name)
        for route in routes_with_ids()
        if isinstance(spec := classify(route), dict)
        for name in parameters(route)
        if name not in spec
    ]
    assert not unnamed, f"parameters without a kind in ROUTES: {unnamed}"


# --- Two districts with one object of every kind -------------------------------------------

FIELDS = [
    field("person", "Người khai", "traveller", required=True, role="person", birth="year"),
    field("area", "Nơi đến", "destination", required=True, role="destination", depth=0),
]


@dataclass
class District:
    ids: dict
    markers: list[str]  # personal data of this district that no one outside may see
    objects: dict


def district_build(key, *, area, village, home, make_user, suffix) -> District:  # noqa: F811
    """One district's objects of every kind, made the way the application makes them where that
    is cheap (a submission through the API, under review in a Wagtail workflow)."""
    name, national_id, phone = f"Hoàng Thị Bí Mật {suffix}", f"05619900{suffix}", f"+8490599{suffix}"
    staff = make_user(f"nhanvien.{key}", area=area, role=GroupRole.ROLE_FIELD_STAFF)
    staff.email = f"bimat.{key}@example.invalid"
    staff.save(update_fields=["email"])
    person = Person.objects.create(
        full_name=name, name_folded=fold(name), national_id=national_id, phone=phone, home_area=village
    )
    other = Person.objects.create(full_name=f"{name} B", name_folded=fold(f"{name} B"), home_area=village)
    place = Place.objects.create(kind=Place.KIND_CHECKPOINT, name=f"Chốt {key}", area=village)
    park = Place.objects.create(kind=Place.KIND_INDUSTRIAL_PARK, name=f"KCN {key}", area=village)
    form = approval_required(publish_form(home, slug=f"phieu-{key}", fields=FIELDS, area=area))
    _token, plaintext = APIToken.create_token(user=staff, name=f"Điện thoại {key}")
    traveller = f"Đặng Văn Kín Đáo {suffix}"
    body = {
        "client_id": str(uuid.uuid4()),
        "data": {"traveller": {"full_name": traveller, "birth_year": 1990}, "destination": village.code},
    }
    response = Client().post(
        f"/api/v1/forms/{form.slug}/submissions",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {plaintext}",
    )
    assert response.status_code == 201, response.content
    submission = Submission.objects.get(pk=response.json()["id"])
    workflow_state = submission.current_workflow_state
    today = timezone.localdate()
    order = QuarantineOrder.objects.create(
        person=person,
        kind="home",
        area=village,
        start_date=today - datetime.timedelta(days=14),
        planned_end=today,
        status=QuarantineOrder.STATUS_COMPLETED,
    )
    document = get_document_model().objects.create(
        title=f"Báo cáo {key}",
        file=ContentFile(b"%PDF-1.4 report", name=f"bao-cao-{key}.pdf"),
        collection=report_collection(),
    )
    job = ImportJob.objects.create(
        kind="places",
        file=ContentFile(b"code,name\n", name=f"places-{key}.csv"),
        file_name=f"places-{key}.csv",
        format="csv",
        scope_area=area,
        created_by=staff,
    )
    log(instance=person, action="wagtail.edit", user=staff)  # for Wagtail's "site history"
    objects = {
        "person": person,
        "submission": submission,
        "alert": Alert.objects.create(
            key=f"fever:{key}", kind="fever", person=person, area=village, message=f"Sốt {name}"
        ),
        "duplicate": DuplicateCandidate.objects.create(person=person, other=other, reason="same name"),
        "merge": PersonMerge.objects.create(kept=person, absorbed=other, moved={}),
        "order": order,
        "cluster": Cluster.objects.create(name=f"KCN {key} — xưởng 1", place=park, first_case=person),
        "test_request": SampleRequest.objects.create(
            person=person,
            reason="f1",
            area=village,
            status=SampleRequest.STATUS_DONE,
            result_submission=submission,
            closed_at=timezone.now(),
        ),
        "place": place,
        "area": village,
        "user": staff,
        "import_job": job,
        "report": SituationReport.objects.create(
            area=area, date=today, status=SituationReport.STATUS_DONE, document=document, requested_by=staff
        ),
        "document": document,
        "api_token": APIToken.objects.get(user=staff),
        "editing_session": EditingSession.objects.create(
            user=staff, content_object=submission, last_seen_at=timezone.now()
        ),
        "form": form,
        "access_record": AccessRecord.objects.create(
            user=staff,
            username=staff.username,
            action="view",
            kind="person",
            object_id=str(person.pk),
            area=village,
            outcome="shown",
            path=f"/admin/persons/inspect/{person.pk}/",
            detail=name,
        ),
    }
    ids = {kind: obj.pk for kind, obj in objects.items()}
    ids.update(
        form_slug=form.slug,
        revision=submission.latest_revision_id,
        workflow_state=workflow_state.pk,
        task_state=workflow_state.current_task_state.pk,
    )
    # What of this district no one outside may see: the person's name, ids and phone, the name
    # in the submission, its staff's username and email, the submission's title.
    markers = [
        name,
        national_id,
        phone,
        traveller,
        staff.username,
        staff.email,
        f"{form.title} #{submission.pk}",
    ]
    return District(ids=ids, markers=markers, objects=objects)


ROLES = {
    "province_admin": GroupRole.ROLE_PROVINCE_ADMIN,
    "it_team": GroupRole.ROLE_AREA_IT_TEAM,
    "approver": GroupRole.ROLE_APPROVER,
    "leader": GroupRole.ROLE_LEADER,
    "field_staff": GroupRole.ROLE_FIELD_STAFF,
}


@pytest.fixture
def districts(area_tree, home, make_user):  # noqa: F811
    build = {"home": home, "make_user": make_user}
    return {
        "A": district_build(
            "a", area=area_tree["cam_lam"], village=area_tree["dong_cau"], suffix="0111", **build
        ),
        "B": district_build(
            "b", area=area_tree["nha_trang"], village=area_tree["vinh_luong"], suffix="0999", **build
        ),
    }


@pytest.fixture
def user_of_a(request, area_tree, make_user):
    """A user of district A in the role named by the test's parameter; the approver also works
    on the district's tracing team, the broadest rights an area-limited user has."""
    from website.demo.workflows import TEAM_TRACING, demo_teams_load

    user = make_user(f"a.{request.param}", area=area_tree["cam_lam"], role=ROLES[request.param])
    if request.param == "approver":
        demo_teams_load()
        user.groups.add(Group.objects.get(name=TEAM_TRACING))
    return user


# --- Answers -------------------------------------------------------------------------------


def text_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", "replace")


def leaked(response, markers) -> list[str]:
    """The markers the response shows, plain or JSON-escaped (\\u1ec7)."""
    text = text_of(response)
    return [m for m in markers if m in text or json.dumps(m)[1:-1] in text]


def answer(client, url):
    """GET, or POST where the view takes POSTs only (actions: resolve, merge, level…)."""
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {})
    return response


def same_refusal(one, other) -> bool:
    return (one.status_code, one.get("Location", "")) == (other.status_code, other.get("Location", ""))


def is_refused_record(user, path) -> bool:
    return AccessRecord.objects.filter(user=user, outcome="refused", path=path).exists()


@pytest.mark.parametrize("user_of_a", list(ROLES), indirect=True)
def test_no_object_of_another_district_answers_by_id(districts, user_of_a):
    """Every URL with an id, B's object: 404, or the very answer a missing id gets; never
    B's data, never a 403 that a missing id would not get. Refusals are audited."""
    b = districts["B"]
    client = Client(raise_request_exception=False)
    client.force_login(user_of_a)
    failures, unaudited = [], []
    for route in routes_with_ids():
        spec = classify(route)
        if isinstance(spec, Skip):
            continue
        if spec == "superuser-site":
            spec = {name: "=1" for name in parameters(route)}
        missing_ids = {kind: MISSING.get(kind, MISSING_ID) for kind in b.ids}
        url, missing_url = url_for(route, spec, b.ids), url_for(route, spec, missing_ids)
        response = answer(client, url)
        if shown := leaked(response, b.markers):
            failures.append(f"{url}: {response.status_code} shows {shown}")
        elif response.status_code == 404:
            if url.startswith(("/admin/", "/api/")) and not is_refused_record(user_of_a, url.split("?")[0]):
                unaudited.append(url)
        elif response.get("Location", "").startswith(LOGIN_URLS):
            continue  # a user without admin access: sent to log in, whatever the id
        elif ROLE_REFUSED.match(url) and response.get("Location") == PERMISSION_REDIRECT:
            continue
        elif response.status_code in (200, 500) or not same_refusal(response, answer(client, missing_url)):
            failures.append(f"{url}: {response.status_code} {response.get('Location', '')}")
    assert not failures, "\n".join(failures)
    assert not unaudited, f"404s without a refused access record: {unaudited}"


def test_the_sweep_reaches_each_kind_for_a_user_who_may_see_it(districts, make_user, area_tree):
    """The sweep is not vacuous: a province admin of A opens A's own objects of each kind."""
    a = districts["A"]
    user = make_user("a.sweep", area=area_tree["cam_lam"], role=GroupRole.ROLE_PROVINCE_ADMIN)
    from website.demo.workflows import TEAM_TRACING, demo_teams_load

    demo_teams_load()
    user.groups.add(Group.objects.get(name=TEAM_TRACING))
    client = Client(raise_request_exception=False)
    client.force_login(user)
    reached, errors = set(), []
    for route in routes_with_ids():
        spec = classify(route)
        if not isinstance(spec, dict) or route.endswith(("delete/", "dismiss/", "merge/", "resolve/")):
            continue
        response = client.get(url := url_for(route, spec, a.ids))
        # A certificate that cannot be issued yet sends back to the person's page, with the reason.
        if response.status_code == 200 or response.get("Location", "").startswith("/admin/persons/inspect/"):
            reached.update(kind for kind in spec.values() if not kind.startswith("="))
        elif response.status_code >= 500:
            errors.append(url)
    assert not errors, f"server errors on the user's own objects: {errors}"
    expected = {
        "person",
        "submission",
        "alert",
        "duplicate",
        "order",
        "cluster",
        "test_request",
        "place",
        "area",
        "user",
        "import_job",
        "report",
        "revision",
        "workflow_state",
    }
    assert expected <= reached, f"never opened: {expected - reached}"


# --- Listings, searches, choosers, exports, filters ----------------------------------------

LISTING_PREFIXES = ("admin/", "api/v1/", "api/v2/", "entry/")
# Routes whose GET does something other than show a listing.
NOT_LISTINGS = re.compile(r"logout|password_reset|login|jsi18n|sw\.js|openapi|/docs|failwhale")


def listing_routes() -> list[str]:
    # Once each: a scoped view may shadow Wagtail's at the same path (website/scope.py).
    return list(
        dict.fromkeys(
            "/" + route
            for route in walk(get_resolver().url_patterns)
            if route.startswith(LISTING_PREFIXES)
            and not PARAM.search(route)
            and "^" not in route.replace("^pages/$", "").replace("^images/$", "").replace("^documents/$", "")
            and not NOT_LISTINGS.search(route)
        )
    )


@pytest.mark.parametrize("user_of_a", list(ROLES), indirect=True)
def test_no_listing_search_or_export_shows_another_districts_people(districts, user_of_a):
    """Every listing under /admin/ and the APIs, searched for B's person, filtered to B's area,
    and exported: nothing of B's people appears."""
    b = districts["B"]
    client = Client(raise_request_exception=False)
    client.force_login(user_of_a)
    area_b = b.objects["area"].get_parent().code
    failures = []
    for path in listing_routes():
        for query in (
            "",
            f"?q={b.markers[0]}",
            f"?q={b.markers[1]}",
            f"?area={area_b}&parent={area_b}",
            f"?area={b.ids['area']}",
            "?export=csv",
        ):
            response = client.get(path + query)
            # A page may repeat what was searched for: that is not a leak.
            markers = [marker for marker in b.markers if marker not in query]
            if shown := leaked(response, markers):
                failures.append(f"{path}{query}: {response.status_code} shows {shown}")
            elif response.status_code >= 500:
                failures.append(f"{path}{query}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_api_filters_naming_another_district_answer_404_or_nothing(districts, make_user, area_tree):
    user = make_user("a.api", area=area_tree["cam_lam"], role=GroupRole.ROLE_PROVINCE_ADMIN)
    client = Client()
    client.force_login(user)
    code_b = area_tree["nha_trang"].code
    for path in ("/api/v1/submissions", "/api/v1/dashboard", "/api/v1/map/cases"):
        response = client.get(f"{path}?area={code_b}")
        assert response.status_code == 404, (path, response.status_code)
    own = client.get(f"/api/v1/submissions?area={area_tree['cam_lam'].code}")
    assert own.status_code == 200 and own.json()["count"] == 1


# --- The live socket -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_live_socket_refuses_another_districts_area_for_every_role(redis_url, area_tree, make_user):
    from asgiref.sync import async_to_sync

    from realtime import consumers
    from tests.realtime.sockets import connected, headers_for

    headers = [
        headers_for(make_user(f"ws.{name}", area=area_tree["cam_lam"], role=role))
        for name, role in ROLES.items()
    ]

    async def scenario():
        answers = []
        for one in headers:
            communicator, _hello = await connected(one)
            for code in (area_tree["nha_trang"].code, area_tree["vinh_luong"].code):
                await communicator.send_json_to({"subscribe": code})
                answers.append(await communicator.receive_json_from(timeout=5))
            await communicator.disconnect()
        return answers

    answers = async_to_sync(scenario)()
    assert {(a["type"], a["reason"]) for a in answers} == {("error", consumers.REASON_UNKNOWN_AREA)}


# --- Deny by default: every admin viewset over area-bound data is scoped --------------------

# Models an admin viewset serves that relate to areas or persons but need no scope, and why.
UNSCOPED_ALLOWED = {
    "wagtailcore.apitoken": "superusers only (README's role matrix); no area role has a right on it",
    "audit.accessrecord": "the access log's own viewset (audit/), scoped and tested by Part A",
    "tracing.quarantinerule": "province-wide rules: no area, no person",
}
AREA_BOUND = ("places.area", "places.place", "tracing.person", "forms_engine.submission", "auth.user")


def area_bound(model) -> bool:
    """Whether rows of ``model`` belong to an area or a person: it is one of those, or points
    at one of them."""
    if model._meta.label_lower in AREA_BOUND:
        return True
    return any(
        field.is_relation and field.many_to_one and field.related_model._meta.label_lower in AREA_BOUND
        for field in model._meta.get_fields()
    )


def admin_viewset_models() -> set[str]:
    from wagtail.admin.viewsets import viewsets
    from wagtail.admin.viewsets.model import ModelViewSet

    get_resolver().url_patterns  # noqa: B018 - loading the URLs registers every viewset
    return {
        viewset.model._meta.label_lower
        for viewset in viewsets.viewsets
        if isinstance(viewset, ModelViewSet) and area_bound(viewset.model)
    }


def test_every_admin_viewset_over_area_bound_rows_is_scoped():
    """A new ModelViewSet or snippet over rows that belong to an area or a person fails here
    until its model has a scoped selector in website.scope.VISIBLE_TO (and its views use it) or
    a reason in UNSCOPED_ALLOWED."""
    from website.scope import VISIBLE_TO

    unscoped = admin_viewset_models() - set(VISIBLE_TO) - set(UNSCOPED_ALLOWED)
    assert not unscoped, f"admin viewsets over area-bound rows without a scope: {sorted(unscoped)}"


def test_each_scope_selector_hides_the_other_district(districts, make_user, area_tree):
    from website.scope import VISIBLE_TO

    user = make_user("a.selectors", area=area_tree["cam_lam"], role=GroupRole.ROLE_PROVINCE_ADMIN)
    by_label = {
        obj._meta.label_lower: (districts["A"].objects[kind], obj)
        for kind, obj in districts["B"].objects.items()
    }
    checked = []
    for label, visible in VISIBLE_TO.items():
        if label not in by_label:
            continue
        own, other = by_label[label]
        rows = visible(user)
        assert rows.filter(pk=own.pk).exists(), f"{label}: the user's own row is not visible"
        assert not rows.filter(pk=other.pk).exists(), f"{label}: the other district's row is visible"
        checked.append(label)
    assert len(checked) >= 9, checked
