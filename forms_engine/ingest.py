"""The ingest lane: ``POST /api/v1/forms/{slug}/submissions`` served without Django's request path.

Checkpoints send thousands of declarations a minute. Through Django, every one pays for the
middleware, a hop to the one thread sync views run on, and seven ORM queries; a server of
two cores then takes under a hundred a second. This ASGI app sits in front of Django
(``website/asgi.py``) and takes the submissions of bearer-token and anonymous callers on
PostgreSQL itself, on the event loop, with async psycopg: one pooled connection per request,
the token, areas, places and uploads read in at most four short queries, one INSERT.

It is the same endpoint, not a second one: the steps and messages are ``intake.py``'s,
shared with the Django view in ``api.py``; the tests run the API's contract through both.
Everything unusual goes to Django instead: another method or path, a session cookie (the
phone page logs in and sends a CSRF token), a Host outside ALLOWED_HOSTS, SQLite, or
``INGEST_LANE=0``.
"""

import asyncio
import functools
import logging
import re
import weakref
from datetime import timedelta

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, connections
from django.http.request import split_domain_port, validate_host
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from wagtail.models import APIToken

from places.models import Area, Place, UserArea

from .intake import (
    Reply,
    error_reply,
    errors_reply,
    form_refusal,
    language_of,
    outcome_reply,
    parse_body,
    place_limited_reply,
    qr_code_of,
    rate_limited_reply,
    size_refusal,
    token_guessing_reply,
    too_large_reply,
    unknown_qr_error,
    validator_for,
)
from .models import Submission, Upload
from .ratelimit import (
    GUESSES_SCOPE,
    counters,
    rate_limit_hit,
    token_failure_record,
    token_failures_blocked,
    window_of,
)
from .selectors import form_access, live_form, live_form_cached
from .services import SubmissionOutcome, submission_after_commit, submission_companions, submission_prepare
from .validation import Found, References

logger = logging.getLogger(__name__)

SUBMISSION_PATH = re.compile(r"^/api/v1/forms/(?P<slug>[^/]+)/submissions$")
JSON_ENCODER = DjangoJSONEncoder(ensure_ascii=False, separators=(",", ":"))


class SubmissionLane:
    """ASGI middleware: serves the submissions it can, passes everything else to ``app``."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        match = lane_path(scope) if scope["type"] == "http" else None
        headers = request_headers(scope) if match else {}
        if match is None or not lane_takes(headers):
            return await self.app(scope, receive, send)
        slug = match["slug"]
        with translation.override(language_of(headers.get("accept-language", ""))):
            try:
                form, version = await form_and_version(slug)
                if form is not None and form.submission_workflow_id:
                    reply = TO_DJANGO  # reviewed submissions start a Wagtail workflow: ORM work
                else:
                    reply = await take_submission(scope, receive, headers, form, version)
            except (PoolTimeout, psycopg.OperationalError):
                logger.warning("ingest lane: database unavailable", exc_info=True)
                reply = busy_reply()
            except Exception:
                logger.exception("ingest lane: submission to %s failed", slug)
                reply = error_reply(500, _("Server error; send the submission again later."))
        if reply is TO_DJANGO:
            await self.app(scope, receive, send)
        elif reply is not None:  # None: the client went away before sending its body
            await send_reply(send, reply, secure=is_secure(scope, headers))


TO_DJANGO = object()


def lane_path(scope):
    """The path's match when this is a submission the lane may serve, else None."""
    if scope["method"] != "POST" or not lane_enabled():
        return None
    return SUBMISSION_PATH.match(scope["path"])


def request_headers(scope) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}


def lane_takes(headers: dict[str, str]) -> bool:
    """False for what Django must serve itself."""
    bearer = headers.get("authorization", "").lower().startswith("bearer ")
    if settings.SESSION_COOKIE_NAME + "=" in headers.get("cookie", "") and not bearer:
        return False  # a logged-in page: session and CSRF are Django's to check
    return host_allowed(headers.get("host", ""))  # else Django answers 400 and logs it


def lane_enabled() -> bool:
    return settings.INGEST_LANE and connections["default"].vendor == "postgresql"


def host_allowed(host: str) -> bool:
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


def is_secure(scope, headers) -> bool:
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        header = proxy[0].removeprefix("HTTP_").replace("_", "-").lower()
        return headers.get(header, "").split(",")[0].strip() == proxy[1]
    return scope.get("scheme") == "https"


def busy_reply() -> Reply:
    reply = error_reply(503, _("The server is busy; the submission will be sent again shortly."))
    reply.headers["Retry-After"] = "5"
    return reply


# --- the steps -------------------------------------------------------------------------------


async def take_submission(scope, receive, headers: dict, form, version) -> Reply | None:
    """intake.py's steps in the order of api.submission_take, with async database access."""
    if refusal := size_refusal(headers.get("content-length")):
        return refusal
    raw = await read_body(receive, limit=settings.SUBMISSION_MAX_BYTES)
    if raw is None:
        return None
    if raw is TOO_LARGE:
        return too_large_reply()
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer ") and (retry_after := await token_guessing(scope)):
        return token_guessing_reply(retry_after)
    async with (await pool()).connection() as conn:
        user, token = await authenticate(conn, authorization)
        if token is None and authorization.lower().startswith("bearer "):
            await sync_to_async(token_failure_record, thread_sensitive=False)(client_ip(scope))
        form, version = form_access(form, version, user=user)
        if refusal := form_refusal(form, version):
            return refusal
        if form.is_public and (retry_after := await rate_limit_hit_async(client_ip(scope))):
            return rate_limited_reply(retry_after)
        body, refusal = parse_body(raw)
        if refusal:
            return refusal
        qr_code = qr_code_of(body)
        if form.is_public and (retry_after := await place_rate_limit_hit_async(qr_code, user)):
            return place_limited_reply(retry_after)
        validator = validator_for(form, version, user=user)
        refs = validator.check(body["data"])
        found = await references_fetch(conn, refs, extra_place=qr_code)
        result = validator.conclude(found)
        qr_place = found.places.get(qr_code) if qr_code else None
        if qr_code and (qr_place is None or not qr_place.is_active):
            qr_place = None
            unknown_qr_error(result.errors)
        if result.errors:
            return errors_reply(result.errors)
        submission = submission_prepare(
            form=form, version=version, body=body, result=result, qr_place=qr_place, user=user, token=token
        )
        outcome = await submission_insert(conn, submission)
    if outcome.created and not settings.RQ_QUEUES["default"].get("ASYNC", True):
        # In-process queues: the after-commit hooks run the jobs here (the embedded default;
        # with Redis, the scheduler is woken by the database instead).
        await sync_to_async(_after_commit_in_thread, thread_sensitive=False)()
    return outcome_reply(outcome)


def _after_commit_in_thread():
    try:
        submission_after_commit()
    finally:
        close_old_connections()


TOO_LARGE = object()


async def read_body(receive, *, limit: int):
    """The request body; TOO_LARGE past ``limit`` bytes; None if the client disconnected."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return TOO_LARGE
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def client_ip(scope) -> str:
    # As Django's REMOTE_ADDR: uvicorn's --proxy-headers already put the proxy's client here.
    client = scope.get("client")
    return client[0] if client else "unknown"


# --- rate limits, counted on the event loop ------------------------------------------------------
# ratelimit.py's counters, read and bumped with an asyncio Redis client: a thread for each check
# (sync_to_async) made the event loop and the threads fight for the GIL, a third of the lane's
# throughput. Without Redis the cache is this process's memory: no I/O, called directly.


async def rate_limit_hit_async(ip: str) -> int | None:
    return await counter_hit("public-submit", ip)


async def place_rate_limit_hit_async(qr_code: str, user) -> int | None:
    """ratelimit.place_rate_limit_hit: anonymous submissions at a QR place."""
    if not qr_code or user.is_authenticated:
        return None
    return await counter_hit("public-place", qr_code)


async def counter_hit(scope_name: str, subject: str) -> int | None:
    """ratelimit.rate_limit_hit on the event loop: count one; seconds to wait when over."""
    redis = counters_redis()
    if redis is None:
        return rate_limit_hit(subject, scope=scope_name)
    limit, key, seconds_left = window_of(scope_name, subject)
    full_key = counters().make_and_validate_key(key)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.set(full_key, 0, nx=True, ex=settings.RATE_LIMITS[scope_name][1] + 1)
        pipe.incr(full_key)
        _created, count = await pipe.execute()
    return seconds_left if count > limit else None


async def token_guessing(scope) -> int | None:
    """ratelimit.token_failures_blocked on the event loop (every bearer-token submission asks
    it). Redis down: no check (the failures could not have been counted either), rather than
    no submissions."""
    ip = client_ip(scope)
    redis = counters_redis()
    if redis is None:
        return token_failures_blocked(ip)
    limit, key, seconds_left = window_of(GUESSES_SCOPE, ip)
    try:
        count = await redis.get(counters().make_and_validate_key(key))
    except Exception:
        logger.warning("token failure counter unreadable", exc_info=True)
        return None
    return seconds_left if int(count or 0) >= limit else None


_redis_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop -> client


def counters_redis():
    """This event loop's asyncio client of the Redis the counters' cache uses, or None."""
    cache = settings.CACHES["default"]
    if not cache["BACKEND"].endswith("RedisCache"):
        return None
    loop = asyncio.get_running_loop()
    if loop not in _redis_clients:
        from redis.asyncio import Redis

        location = cache["LOCATION"]
        _redis_clients[loop] = Redis.from_url(location[0] if isinstance(location, list) else location)
    return _redis_clients[loop]


async def form_and_version(slug: str):
    found, form, version = live_form_cached(slug)
    if found:
        return form, version
    return await sync_to_async(_live_form_in_thread, thread_sensitive=False)(slug)


def _live_form_in_thread(slug: str):
    try:
        return live_form(slug)
    finally:
        close_old_connections()  # give the thread's connection back to the pool


async def send_reply(send, reply: Reply, *, secure: bool) -> None:
    body = JSON_ENCODER.encode(reply.payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *security_headers(secure=secure),
        *((name.lower().encode(), value.encode()) for name, value in reply.headers.items()),
    ]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def security_headers(*, secure: bool) -> list[tuple[bytes, bytes]]:
    """What SecurityMiddleware and XFrameOptionsMiddleware add to Django's answers."""
    headers = [(b"x-frame-options", settings.X_FRAME_OPTIONS.encode())]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        policy = policy if isinstance(policy, str) else ",".join(policy)
        headers.append((b"referrer-policy", policy.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    if secure and settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        hsts += "; includeSubDomains" if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS else ""
        hsts += "; preload" if settings.SECURE_HSTS_PRELOAD else ""
        headers.append((b"strict-transport-security", hsts.encode()))
    return headers


# --- async database access ---------------------------------------------------------------------

_pools: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop -> its pool


async def pool() -> AsyncConnectionPool:
    """This event loop's pool of ``INGEST_POOL_SIZE`` connections to Django's database."""
    loop = asyncio.get_running_loop()
    if loop not in _pools:
        params = connections["default"].settings_dict
        conninfo = psycopg.conninfo.make_conninfo(
            dbname=params["NAME"],
            user=params.get("USER") or None,
            password=params.get("PASSWORD") or None,
            host=params.get("HOST") or None,
            port=str(params["PORT"]) if params.get("PORT") else None,
            **{k: v for k, v in params.get("OPTIONS", {}).items() if k in LIBPQ_OPTIONS},
        )
        new = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=settings.INGEST_POOL_SIZE,
            timeout=settings.INGEST_POOL_TIMEOUT,
            kwargs={"autocommit": True},
            open=False,
            name="ingest",
        )
        await new.open()
        _pools[loop] = new
    return _pools[loop]


LIBPQ_OPTIONS = {"sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name"}


async def pools_close() -> None:
    """Close this event loop's pool (tests; a server process just exits)."""
    loop = asyncio.get_running_loop()
    if (existing := _pools.pop(loop, None)) is not None:
        await existing.close()


def table(model) -> sql.Identifier:
    return sql.Identifier(model._meta.db_table)


def column(model, alias: str, name: str) -> sql.Identifier:
    return sql.Identifier(alias, model._meta.get_field(name).column)


class Columns:
    """Some columns of a model: their SELECT list and the instance made from a row of them.

    Reading a field not fetched would be a query, which fails loudly on the event loop.
    """

    def __init__(self, model, names: list[str]):
        wanted = {model._meta.get_field(name).attname for name in names}
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if f.attname in wanted]  # from_db's order
        self.attnames = [f.attname for f in self.fields]

    def __len__(self) -> int:
        return len(self.fields)

    def select(self, alias: str) -> sql.Composable:
        return sql.SQL(", ").join(sql.Identifier(alias, field.column) for field in self.fields)

    def instance(self, row):
        return self.model.from_db("default", self.attnames, row)


TOKEN = Columns(APIToken, ["id", "user", "last_used_at"])
USER = Columns(get_user_model(), ["id", "is_active", "is_superuser"])
AREA = Columns(Area, ["id", "path", "depth", "numchild", "code", "name"])
PLACE = Columns(Place, ["id", "code", "kind", "is_active", "area"])
UPLOAD = Columns(Upload, ["id", "content_type", "size"])
EXISTING = Columns(Submission, ["id", "client_id", "status", "data_hash"])


@functools.cache
def insert_with_companions(models: tuple) -> sql.Composable:
    """One statement: the submission's INSERT and, only if it inserted a row, one row of each
    companion model (its outbox event). A single statement is atomic on its own and costs one
    round trip where BEGIN, three INSERTs and COMMIT would cost five."""
    meta = Submission._meta
    unique = next(c for c in meta.constraints if c.name == "unique_submission_client_id")
    parts = [
        sql.SQL("WITH s AS ({insert})").format(insert=insert_statement(Submission, conflict=unique.fields))
    ]
    for number, model in enumerate(models):
        fields = inserted_fields(model)
        connection = connections["default"]
        parts.append(
            sql.SQL(
                ", c{number} AS (INSERT INTO {table} ({columns}) SELECT {values} "
                "WHERE EXISTS (SELECT 1 FROM s) ON CONFLICT DO NOTHING)"
            ).format(
                number=sql.SQL(str(number)),
                table=table(model),
                columns=sql.SQL(", ").join(sql.Identifier(f.column) for f in fields),
                # Typed: a SELECT list gives PostgreSQL no column to infer a parameter's type from.
                values=sql.SQL(", ").join(
                    sql.SQL("{}::{}").format(sql.Placeholder(), sql.SQL(f.db_type(connection)))
                    for f in fields
                ),
            )
        )
    parts.append(sql.SQL(" SELECT {id} FROM s").format(id=sql.Identifier(meta.pk.column)))
    return sql.Composed(parts)


def _statements() -> dict[str, sql.Composable]:
    """Every query of the lane, composed once from the models' metadata."""
    user_model, meta = USER.model, Submission._meta
    unique = next(c for c in meta.constraints if c.name == "unique_submission_client_id")
    return {
        "token": sql.SQL(
            "SELECT {token}, {user}, {area} FROM {tokens} t JOIN {users} u ON {user_id} = {token_user} "
            "LEFT JOIN {scopes} ua ON {scope_user} = {user_id} "
            "LEFT JOIN {areas} a ON {area_id} = {scope_area} "
            "WHERE {key_hash} = ANY(%s) AND {revoked_at} IS NULL LIMIT 1"
        ).format(
            token=TOKEN.select("t"),
            user=USER.select("u"),
            area=AREA.select("a"),
            tokens=table(APIToken),
            users=table(user_model),
            user_id=column(user_model, "u", "id"),
            token_user=column(APIToken, "t", "user"),
            scopes=table(UserArea),
            scope_user=column(UserArea, "ua", "user"),
            areas=table(Area),
            area_id=column(Area, "a", "id"),
            scope_area=column(UserArea, "ua", "area"),
            key_hash=column(APIToken, "t", "key_hash"),
            revoked_at=column(APIToken, "t", "revoked_at"),
        ),
        "token_touch": sql.SQL("UPDATE {tokens} SET {last_used} = %s WHERE {id} = %s").format(
            tokens=table(APIToken),
            last_used=sql.Identifier(APIToken._meta.get_field("last_used_at").column),
            id=sql.Identifier(APIToken._meta.pk.column),
        ),
        "areas": sql.SQL("SELECT {area} FROM {areas} a WHERE {code} = ANY(%s)").format(
            area=AREA.select("a"), areas=table(Area), code=column(Area, "a", "code")
        ),
        "places": sql.SQL(
            "SELECT {place}, {area} FROM {places} p JOIN {areas} a ON {area_id} = {place_area} "
            "WHERE {code} = ANY(%s)"
        ).format(
            place=PLACE.select("p"),
            area=AREA.select("a"),
            places=table(Place),
            areas=table(Area),
            area_id=column(Area, "a", "id"),
            place_area=column(Place, "p", "area"),
            code=column(Place, "p", "code"),
        ),
        "uploads": sql.SQL("SELECT {upload} FROM {uploads} u WHERE {id} = ANY(%s)").format(
            upload=UPLOAD.select("u"), uploads=table(Upload), id=column(Upload, "u", "id")
        ),
        # A repeated client_id inserts nothing.
        "insert": insert_statement(Submission, conflict=unique.fields),
        "existing": sql.SQL(
            "SELECT {submission} FROM {submissions} s WHERE {form} = %s AND {client_id} = %s"
        ).format(
            submission=EXISTING.select("s"),
            submissions=table(Submission),
            form=column(Submission, "s", "form"),
            client_id=column(Submission, "s", "client_id"),
        ),
    }


@functools.cache
def inserted_fields(model) -> list:
    """Every concrete field but an automatic id: a field added to a model is written too."""
    meta = model._meta
    return [
        f for f in meta.concrete_fields if not (f is meta.pk and f.get_internal_type().endswith("AutoField"))
    ]


def insert_statement(model, *, conflict: list[str] | None = None) -> sql.Composable:
    """INSERT of one row that yields its id; a unique conflict (on ``conflict``) inserts nothing."""
    meta, fields = model._meta, inserted_fields(model)
    target = (
        sql.SQL("({})").format(sql.SQL(", ").join(sql.Identifier(meta.get_field(n).column) for n in conflict))
        if conflict
        else sql.SQL("")
    )
    return sql.SQL(
        "INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT {target} DO NOTHING RETURNING {id}"
    ).format(
        table=table(model),
        columns=sql.SQL(", ").join(sql.Identifier(f.column) for f in fields),
        values=sql.SQL(", ").join(sql.Placeholder() * len(fields)),
        target=target,
        id=sql.Identifier(meta.pk.column),
    )


def insert_values(instance) -> list:
    """The row's values as Django would send them (defaults, auto_now, JSON adapters)."""
    connection = connections["default"]  # for its value adapters only; it never connects here
    return [
        field.get_db_prep_save(field.pre_save(instance, add=True), connection)
        for field in inserted_fields(type(instance))
    ]


STATEMENTS = _statements()


async def authenticate(conn, authorization: str):
    """(user, token) for a bearer token, as wagtail's BearerTokenAuth decides, with the user's
    area attached (places.selectors.user_area reads it); (AnonymousUser, None) otherwise."""
    if not authorization.lower().startswith("bearer "):
        return AnonymousUser(), None
    hashes = APIToken.candidate_key_hashes(authorization[7:].strip())
    row = await (await conn.execute(STATEMENTS["token"], (hashes,))).fetchone()
    if row is None:  # unknown or revoked
        return AnonymousUser(), None
    token, rest = TOKEN.instance(row[: len(TOKEN)]), row[len(TOKEN) :]
    user, area_row = USER.instance(rest[: len(USER)]), rest[len(USER) :]
    if not user.is_active:
        return AnonymousUser(), None
    user._cached_user_area = AREA.instance(area_row) if area_row[0] is not None else None
    await token_touch(conn, token)
    return user, token


async def token_touch(conn, token) -> None:
    """Record the token's use at most once a minute, as BearerTokenAuth does."""
    interval = getattr(settings, "WAGTAILAPI_TOKEN_LAST_USED_INTERVAL", 60)
    now = timezone.now()
    if interval is None or (token.last_used_at and now - token.last_used_at < timedelta(seconds=interval)):
        return
    await conn.execute(STATEMENTS["token_touch"], (now, token.pk))


async def references_fetch(conn, refs: References, *, extra_place: str = "") -> Found:
    """What validation.references_load reads through the ORM, here in async queries."""
    found = Found()
    if refs.areas:
        rows = await (await conn.execute(STATEMENTS["areas"], (list(refs.areas),))).fetchall()
        found.areas = {area.code: area for area in map(AREA.instance, rows)}
    codes = list(refs.places) + ([extra_place] if extra_place else [])
    if codes:
        for row in await (await conn.execute(STATEMENTS["places"], (codes,))).fetchall():
            place = PLACE.instance(row[: len(PLACE)])
            place.area = AREA.instance(row[len(PLACE) :])
            found.places[place.code] = place
    if refs.uploads:
        rows = await (await conn.execute(STATEMENTS["uploads"], (list(refs.uploads),))).fetchall()
        found.uploads = {str(upload.pk): upload for upload in map(UPLOAD.instance, rows)}
    return found


async def submission_insert(conn, submission: Submission) -> SubmissionOutcome:
    """services.submission_create in SQL for a form without a workflow: the submission and
    its companion rows (its outbox event) in one statement, idempotent on (form, client_id)."""
    companions = submission_companions(submission)  # made before the INSERT: no id needed
    statement = insert_with_companions(tuple(type(c) for c in companions))
    values = insert_values(submission) + [v for c in companions for v in insert_values(c)]
    row = await (await conn.execute(statement, values)).fetchone()
    if row is not None:
        submission.pk = row[0]
        submission._state.adding = False
        return SubmissionOutcome(submission, created=True, same_data=True)
    key = (submission.form_id, submission.client_id)
    existing = EXISTING.instance(await (await conn.execute(STATEMENTS["existing"], key)).fetchone())
    return SubmissionOutcome(existing, created=False, same_data=existing.data_hash == submission.data_hash)
