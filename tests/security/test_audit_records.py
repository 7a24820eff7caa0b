"""The access log itself: records are append-only (model, queryset and, on PostgreSQL, any SQL),
outlive their user, and refused access under /admin/ and /api/ is recorded by the middleware."""

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponseNotFound
from django.test import AsyncClient, Client, RequestFactory
from wagtail.models import APIToken

from audit import middleware
from audit.models import APPEND_ONLY_MESSAGE, AccessRecord, AppendOnlyError
from audit.services import access_record
from places.models import GroupRole

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
IP = "14.160.32.7"


@pytest.fixture
def staff(area_tree, make_user):
    return make_user("truyvet.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER)


def request_of(user, path="/admin/persons/inspect/7/"):
    request = RequestFactory().get(path, HTTP_USER_AGENT=BROWSER + " " + "x" * 400, REMOTE_ADDR=IP)
    request.user = user
    return request


@pytest.fixture
def record(staff, area_tree) -> AccessRecord:
    return access_record(
        request=request_of(staff), action="view", kind="person", object_id=7, area=area_tree["dong_cau"]
    )


# --- what a record holds ---------------------------------------------------------------------


def test_a_record_says_who_what_when_and_from_where(record, staff, area_tree):
    record.refresh_from_db()
    assert (record.user, record.username) == (staff, "truyvet.camlam")
    assert (record.action, record.kind, record.object_id, record.outcome) == ("view", "person", "7", "shown")
    assert (record.area, record.path, record.ip) == (area_tree["dong_cau"], "/admin/persons/inspect/7/", IP)
    assert record.user_agent.startswith(BROWSER) and len(record.user_agent) == 300  # truncated
    assert record.created_at is not None


def test_an_anonymous_request_is_recorded_without_a_user():
    made = access_record(request=request_of(AnonymousUser()), action="view", kind="map_case")
    assert (made.user, made.username, made.object_id) == (None, "", "")


def test_the_record_outlives_its_user(record, staff):
    staff.delete()  # on_delete=SET_NULL: the one change the log allows (also on PostgreSQL)

    record.refresh_from_db()
    assert (record.user, record.username) == (None, "truyvet.camlam")


# --- append-only -------------------------------------------------------------------------------


def test_the_orm_can_neither_change_nor_delete_a_record(record):
    record.kind = "submission"
    with pytest.raises(AppendOnlyError, match=APPEND_ONLY_MESSAGE):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        AccessRecord.objects.filter(pk=record.pk).update(kind="submission")
    with pytest.raises(AppendOnlyError):
        AccessRecord.objects.filter(pk=record.pk).delete()
    with pytest.raises(AppendOnlyError), transaction.atomic():  # bulk_update's own atomic block is spoilt
        AccessRecord.objects.bulk_update([record], ["kind"])
    with pytest.raises(AppendOnlyError):
        AccessRecord.objects.filter(pk=record.pk).update(user=None, kind="x")  # nulling is all it may do

    assert AccessRecord.objects.get(pk=record.pk).kind == "person"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_accessrecord SET kind = 'submission'",
        "UPDATE audit_accessrecord SET user_id = NULL, username = ''",  # hiding who did it
        "DELETE FROM audit_accessrecord",
    ],
)
def test_on_postgresql_no_sql_can_change_a_record(postgres, record, sql):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # The test settings allow TRUNCATE for Django's flush; a real session does not.
        cursor.execute("SET LOCAL audit.allow_truncate = 'off'")
        cursor.execute(sql)

    assert AccessRecord.objects.get(pk=record.pk).kind == "person"


def test_a_login_is_recorded(staff):
    client = Client(HTTP_USER_AGENT=BROWSER, REMOTE_ADDR=IP)

    response = client.post("/admin/login/", {"username": "truyvet.camlam", "password": "pass-1234-word"})

    assert response.status_code == 302
    record = AccessRecord.objects.get()
    assert (record.user, record.action, record.kind) == (staff, "login", "session")
    assert record.outcome == "logged_in"
    assert (record.ip, record.user_agent, record.path) == (IP, BROWSER, "/admin/login/")


# --- refusals, recorded by the middleware -------------------------------------------------------


def test_a_404_under_the_admin_is_a_refused_record(staff):
    client = Client(HTTP_USER_AGENT=BROWSER, REMOTE_ADDR=IP)
    client.force_login(staff)

    assert client.get("/admin/persons/inspect/999999/").status_code == 404

    record = AccessRecord.objects.get(action="refuse")
    assert (record.user, record.action, record.kind, record.outcome) == (staff, "refuse", "url", "refused")
    assert record.object_id == record.path == "/admin/persons/inspect/999999/"
    assert "status=404" in record.detail and record.ip == IP


def test_a_bearer_token_callers_404_is_recorded_with_the_tokens_user(staff):
    _token, plaintext = APIToken.create_token(user=staff, name="Điện thoại")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")

    assert client.get("/api/v1/cases/999999/chain").status_code == 404

    record = AccessRecord.objects.get()
    assert (record.user, record.outcome, record.object_id) == (staff, "refused", "/api/v1/cases/999999/chain")


def test_under_asgi_too(transactional_db, staff):
    """The middleware's async path (the project is served by uvicorn)."""
    _token, plaintext = APIToken.create_token(user=staff, name="Điện thoại")
    headers = {"Authorization": f"Bearer {plaintext}"}

    response = async_to_sync(AsyncClient().get)("/api/v1/cases/999999/chain", headers=headers)
    assert response.status_code == 404, response.content

    assert AccessRecord.objects.get().object_id == "/api/v1/cases/999999/chain"


def test_the_middlewares_async_path(staff):
    """In a chain of async middleware (whichever way Django builds the project's)."""

    async def answer(request):
        return HttpResponseNotFound()

    audit = middleware.RefusalAuditMiddleware(answer)
    async_to_sync(audit)(request_of(staff, "/documents/12/secret.pdf"))

    assert AccessRecord.objects.get().object_id == "/documents/12/secret.pdf"


def test_only_logged_in_refusals_under_the_audited_paths_are_recorded(staff):
    anonymous = Client()
    assert anonymous.get("/api/v1/cases/999999/chain").status_code in (401, 404)
    logged_in = Client()
    logged_in.force_login(staff)
    assert logged_in.get("/no-such-page/").status_code == 404  # the public site: not audited
    assert logged_in.get("/admin/").status_code == 200  # not a refusal

    assert not AccessRecord.objects.exclude(action="login").exists()


def test_a_failure_to_record_never_breaks_the_answer(staff, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(middleware, "access_record", broken)
    client = Client()
    client.force_login(staff)

    assert client.get("/admin/persons/inspect/999999/").status_code == 404
    logged = [record.getMessage() for record in caplog.records if record.name == "audit.middleware"]
    assert logged == ["audit: could not record a refusal (RuntimeError)"]  # no path, no user
