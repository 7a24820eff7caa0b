"""Large XLSX exports, built in the background.

A spreadsheet is a zip file: it cannot be streamed row by row as a CSV is. Above
``EXPORT_SYNC_MAX_ROWS`` rows, instead of keeping a request (and a web process) busy for
minutes, the export becomes a build:

1. ``export_build_start`` keeps what the export was (who asked, the listing's path and query)
   under a random token in the shared cache and queues ``export_build_run``; the user is sent
   to the build's page, which shows its progress and then the download.
2. The job asks the same listing view again, as the same user (scope, filters, search and the
   columns the user may see are the view's business, as for a direct export), with a marker
   on the request that makes the view write its rows to the build's file instead of answering.
3. The file lands in storage under ``exports/``; only the user who asked may download it, for
   ``EXPORT_FILES_KEEP_HOURS``; older files go when the next build finishes.

The state lives in the cache, not a table: a build is a convenience for minutes, and a lost one
(Redis restarted) is asked for again with one click.
"""

import logging
import secrets
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.shortcuts import redirect
from django.test import RequestFactory
from django.urls import resolve, reverse
from django.utils import timezone, translation

from realtime.publish import publish_to_user

from .imports import job_enqueue

logger = logging.getLogger(__name__)

EXPORTS_FOLDER = "exports"
PROGRESS_EVERY_SECONDS = 0.5
STATUS_QUEUED, STATUS_BUILDING, STATUS_DONE, STATUS_FAILED = "queued", "building", "done", "failed"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def keep_seconds() -> int:
    return int(float(getattr(settings, "EXPORT_FILES_KEEP_HOURS", 24)) * 3600)


def state_key(token: str) -> str:
    return f"export-build:{token}"


def build_state(token: str) -> dict | None:
    return cache.get(state_key(token)) if len(token) <= 64 else None


def state_save(token: str, state: dict) -> None:
    cache.set(state_key(token), state, timeout=keep_seconds())


# --- starting a build (in the request) -----------------------------------------------------------


def export_build_start(request, *, rows: int, filename: str, listing: str):
    """Queue a build of the export ``request`` asked for; a redirect to the build's page."""
    token = secrets.token_urlsafe(18)
    state_save(
        token,
        {
            "user": request.user.pk,
            "path": request.path,
            "query": request.GET.urlencode(),
            "language": translation.get_language(),
            "listing": listing,
            "filename": f"{filename}.xlsx",
            "rows": rows,
            "done": 0,
            "status": STATUS_QUEUED,
            "file": "",
            "started": timezone.now().isoformat(),
        },
    )
    job_enqueue("forms_engine.export_builds.export_build_run", token)
    return redirect(reverse("forms_engine_export_build", args=[token]))


def build_of(request) -> "ExportBuild | None":
    """The build a request runs for (set by ``export_build_run``), else None."""
    return getattr(request, "export_build", None)


# --- running a build (in the job) ----------------------------------------------------------------


def export_build_run(token: str) -> None:
    """RQ job: ask the listing again as its user, with the rows going to the build's file."""
    state = build_state(token)
    if state is None or state["status"] != STATUS_QUEUED:
        return  # expired, or already run (a job retried)
    build = ExportBuild(token, state)
    user = get_user_model().objects.filter(pk=state["user"], is_active=True).first()
    if user is None:
        return build.fail()
    request = RequestFactory().get(state["path"], data=None, QUERY_STRING=state["query"])
    request.user = user
    request.export_build = build
    match = resolve(state["path"])
    try:
        with translation.override(state["language"]):
            match.func(request, *match.args, **match.kwargs)
    except Exception:
        logger.exception("export build %s failed", token)
        return build.fail()
    if build.state["status"] != STATUS_DONE:
        build.fail()  # the view answered without writing: the listing changed its mind
    files_forget_old()


class ExportBuild:
    """One build's file and progress; the view writes through ``write_xlsx``."""

    def __init__(self, token: str, state: dict):
        self.token, self.state = token, state
        self.last_report = 0.0

    def counted(self, rows: Iterable) -> Iterator:
        """``rows`` as they are, counting them for the progress bar."""
        self.update(status=STATUS_BUILDING)
        for number, row in enumerate(rows, start=1):
            yield row
            if time.monotonic() - self.last_report >= PROGRESS_EVERY_SECONDS:
                self.update(done=number)
        self.state["done"] = self.state["rows"]

    def save(self, temporary) -> None:
        """Store the written file (a temporary file, at its end) and mark the build done."""
        temporary.seek(0)
        name = default_storage.save(f"{EXPORTS_FOLDER}/{self.token}.xlsx", File(temporary))
        self.update(status=STATUS_DONE, file=name, done=self.state["rows"])

    def fail(self) -> None:
        self.update(status=STATUS_FAILED)

    def update(self, **fields) -> None:
        self.state.update(fields)
        self.last_report = time.monotonic()
        state_save(self.token, self.state)
        event = {"type": "export.progress", "build": self.token, **progress_of(self.state)}
        try:
            publish_to_user(self.state["user"], event)
        except Exception:  # a live bar is a nicety: the page polls too
            logger.warning("export build %s: progress not pushed", self.token, exc_info=True)


def xlsx_write(output, headings: list[str], rows: Iterable[list]) -> None:
    """A one-sheet workbook, written as the rows come (openpyxl's write-only mode)."""
    from openpyxl import Workbook

    from .exports import neutralise

    workbook = Workbook(write_only=True, iso_dates=True)
    sheet = workbook.create_sheet()
    sheet.append(headings)
    for row in rows:
        sheet.append([neutralise(value) for value in row])
    workbook.save(output)


def build_write(build: "ExportBuild", headings: list[str], rows: Iterable[list]) -> HttpResponse:
    """Write ``rows`` under ``headings`` into the build's file; the view's answer, which nobody reads."""
    with tempfile.TemporaryFile() as temporary:
        xlsx_write(temporary, headings, build.counted(rows))
        build.save(temporary)
    return HttpResponse(status=204)


def progress_of(state: dict) -> dict:
    rows = max(state["rows"], 1)
    return {
        "status": state["status"],
        "progress": min(100, state["done"] * 100 // rows),
        "done": state["done"],
    }


def files_forget_old() -> None:
    """Delete built files older than ``EXPORT_FILES_KEEP_HOURS`` (their tokens expired with them)."""
    oldest = timezone.now() - timedelta(seconds=keep_seconds())
    try:
        _folders, names = default_storage.listdir(EXPORTS_FOLDER)
    except FileNotFoundError:
        return
    for name in names:
        path = f"{EXPORTS_FOLDER}/{name}"
        try:
            if default_storage.get_modified_time(path) < oldest:
                default_storage.delete(path)
        except (FileNotFoundError, NotImplementedError):
            continue
