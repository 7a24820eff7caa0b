"""schemathesis against /api/v1/openapi.json, in-process: no generated request answers 5xx.

Every operation of the schema is fuzzed with valid and invalid inputs (schemathesis's positive
and negative modes), as an anonymous caller and as a field officer with a bearer token and
with a session. Path parameters are also pinned to objects that exist (a published form, a
case), so that requests get past the 404 and reach the code behind it. The requests go
through Django's WSGI handler, middleware included; a crash there is a 500 here.
"""

import json

import pytest
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.openapi import from_wsgi

from places.models import GroupRole
from tests.factories import field, publish_form
from tracing.models import Person

# Examples per operation, caller and mode: bounded so that the whole file runs in under a minute.
EXAMPLES = 10


@pytest.fixture
def wsgi_app():
    """Django's WSGI handler over the test's transaction.

    The handler closes the database connection at the end of each request, which would end
    the test's transaction; Django's own test client turns that off for the same reason.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(wagtail_root, area_tree, make_user):
    """A published staff form, a public one, a case in Cam Lâm and a field officer there."""
    from website.demo.load import demo_home_page_ensure

    home = demo_home_page_ensure()
    fields = [
        field("person", "Người khai", "person", required=True, role="person", birth="year"),
        field("place", "Địa điểm", "venue", role="place"),
        field("number", "Nhiệt độ", "temperature", decimal=True, decimal_places=1, min_value="34"),
    ]
    staff_form = publish_form(home, slug="phieu-can-bo", fields=fields, area=area_tree["province"])
    public_form = publish_form(
        home, slug="khai-bao-cong-khai", fields=fields, area=area_tree["province"], public=True
    )
    case = Person.objects.create(full_name="Nguyễn Văn Ca", home_area=area_tree["suoi_tan"], level="F0")
    officer = make_user("canbo.fuzz", area=area_tree["cam_lam"], role=GroupRole.ROLE_FIELD_STAFF)
    return {
        "slug": staff_form.slug,
        "public_slug": public_form.slug,
        "case_id": case.pk,
        "province": area_tree["province"].code,
        "area": area_tree["cam_lam"].code,
        "officer": officer,
    }


def bearer_headers(user) -> dict:
    from wagtail.models import APIToken

    _token, plaintext = APIToken.create_token(user=user, name="fuzz")
    return {"Authorization": f"Bearer {plaintext}"}


def session_cookies(user) -> dict:
    from django.conf import settings as django_settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {django_settings.SESSION_COOKIE_NAME: client.cookies[django_settings.SESSION_COOKIE_NAME].value}


def variants(operation, world) -> list[dict]:
    """Strategy arguments for ``operation``: all generated, then (where it takes them) with its
    path and query parameters naming objects that exist, so that requests reach past the 404."""
    known = {
        "slug": [world["slug"], world["public_slug"]],
        "case_id": [world["case_id"]],
        "parent": [world["province"]],
        "area": [world["area"]],
    }
    path_names = {parameter.name for parameter in operation.path_parameters}
    query_names = {parameter.name for parameter in operation.query} & known.keys()
    if not path_names <= known.keys() or not (path_names or query_names):
        return [{}]
    names = path_names | query_names
    pinned = []
    for index in range(max(len(known[name]) for name in names)):
        values = {name: known[name][index % len(known[name])] for name in names}
        pinned.append(
            {
                "path_parameters": {name: values[name] for name in path_names} or None,
                "query": {name: values[name] for name in query_names} or None,
            }
        )
    return [{}, *pinned]


def fuzz(schema, world, *, headers=None, cookies=None) -> None:
    """Each operation, each variant, valid and invalid inputs: never an answer of 500 or more."""
    for result in schema.get_all_operations():
        operation = result.ok()
        for arguments in variants(operation, world):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(generation_mode=mode, **arguments)
                try:
                    no_server_error(strategy, headers=headers, cookies=cookies)
                except Unsatisfiable:
                    # Nothing of the operation can be made invalid (no parameters, no body).
                    assert mode == GenerationMode.NEGATIVE, operation.label


def no_server_error(strategy, *, headers, cookies) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        response = case.call(headers=headers, cookies=cookies)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} {case.query} {case.body!r}: "
            f"{response.status_code} {response.text[:500]}"
        )

    run()


@pytest.fixture
def schema(wsgi_app, world):
    return from_wsgi("/api/v1/openapi.json", wsgi_app)


@pytest.mark.django_db
def test_the_schema_covers_every_v1_route(schema):
    paths = {operation.ok().path for operation in schema.get_all_operations()}
    assert {"/api/v1/forms/{slug}/submissions", "/api/v1/cases/{case_id}/chain", "/api/v1/map/cases"} <= paths


@pytest.mark.django_db
def test_no_5xx_for_anonymous_callers(schema, world):
    fuzz(schema, world)


@pytest.mark.django_db
def test_no_5xx_for_a_field_officer_with_a_bearer_token(schema, world):
    fuzz(schema, world, headers=bearer_headers(world["officer"]))


@pytest.mark.django_db
def test_no_5xx_for_a_field_officer_with_a_session(schema, world):
    fuzz(schema, world, cookies=session_cookies(world["officer"]))


# --- what the fuzzing found, kept as plain regression tests ---------------------------------------


@pytest.mark.django_db
def test_a_nul_character_in_a_url_is_a_400_not_a_database_error(client, world):
    response = client.get("/api/v1/areas", {"parent": "\x00"})
    assert response.status_code == 400 and response.json()["detail"]
    assert client.get("/api/v1/forms/phieu%00can-bo").status_code == 400
    client.force_login(world["officer"])
    assert client.get("/admin/persons/?q=%00").status_code == 400


@pytest.mark.django_db
def test_a_nul_character_or_a_list_as_source_in_a_submission_is_a_400(client, world):
    url = f"/api/v1/forms/{world['public_slug']}/submissions"
    for extra in ({"data": {"person": {"full_name": "A\x00"}}}, {"data": {}, "source": ["api"]}):
        body = {"client_id": "5b7a1c0e-3c8e-4a52-9f5e-0a1b2c3d4e5f", "data": {}, **extra}
        response = client.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 400, (extra, response.content)


@pytest.mark.django_db
def test_the_submissions_page_is_bounded(client, world):
    client.force_login(world["officer"])
    assert client.get("/api/v1/submissions", {"offset": 10**20}).status_code == 422
    assert client.get("/api/v1/submissions", {"limit": 5000}).status_code == 422
    assert client.get("/api/v1/submissions", {"limit": 1000, "offset": 2**31 - 1}).status_code == 200
