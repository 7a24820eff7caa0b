"""Situation reports asked for and made: by a person (``situation_report_request``), by the daily
schedule (``situation_reports_due``), rendered by an outbox handler on the "documents" queue,
stored as a Wagtail document and announced live.

A report is one row per (area, date). Asking again returns the row there is; only "make again"
records a new event (a new key suffix) and renders it anew. The handler runs in the
transaction that marks its event handled, so the row's changes show only when it commits:
meanwhile the progress lives in the cache (``progress_of``) and goes live to the person who
asked (``realtime.publish.publish_to_user``). A render that fails leaves the row failed with
its error and nothing stored (no document, no file).
"""

import logging
import secrets
import uuid
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from wagtail.documents import get_document_model
from wagtail.models import Collection

from places.models import Area
from workflows.events import every, handles
from workflows.models import Event
from workflows.outbox import event_record

from .models import SituationReport
from .situation import situation_pdf, situation_title

logger = logging.getLogger(__name__)

REPORT_REQUESTED = "report.requested"
REPORT_READY = "report.ready"  # live, to the report's area and the areas above it
REPORT_PROGRESS = "report.progress"  # live, to the person who asked
COLLECTION_NAME = "Báo cáo tình hình"  # the documents' collection: data, in the province's language
PROGRESS_SECONDS = 3600  # how long the cache keeps a render's progress
ERROR_MAX_LENGTH = 2000
TITLE_MAX_LENGTH = 255  # a Wagtail document's title


# --- asking for a report ---------------------------------------------------------------------


def event_key(report: SituationReport, suffix: str) -> str:
    return f"{REPORT_REQUESTED}:{report.area.code}:{report.date.isoformat()}:{report.pk}:{suffix}"


def report_event_record(report: SituationReport, *, suffix: str, user_id: int | None) -> None:
    event_record(
        kind=REPORT_REQUESTED,
        key=event_key(report, suffix),
        payload={"report": report.pk, "user": user_id},
    )


def situation_report_request(
    *, area: Area, day: date, user=None, again: bool = False
) -> tuple[SituationReport, bool]:
    """The report of ``area`` on ``day``: the one there is, or a new one queued (True when a
    render was queued now). ``again`` renders an existing one anew."""
    user_id = getattr(user, "pk", None)
    with transaction.atomic():
        report, created = SituationReport.objects.get_or_create(
            area=area, date=day, defaults={"requested_by_id": user_id}
        )
        if created:
            report_event_record(report, suffix="first", user_id=user_id)
            return report, True
        if not again:
            return report, False
        report_requeue(report, user_id=user_id)
        report_event_record(report, suffix=f"again-{uuid.uuid4().hex[:12]}", user_id=user_id)
    return report, True


def report_requeue(report: SituationReport, *, user_id: int | None) -> None:
    """Queued again; the document it had stays downloadable until the new one replaces it."""
    report.status, report.progress, report.error = SituationReport.STATUS_QUEUED, 0, ""
    report.requested_by_id = user_id or report.requested_by_id
    report.save(update_fields=["status", "progress", "error", "requested_by", "updated_at"])


@every("OVERDUE_CHECK_SECONDS")
def situation_reports_due(now: datetime | None = None) -> int:
    """Once a day from SITUATION_REPORT_HOUR (province time): each top area's report of the day
    before (the last whole day), as an outbox event keyed by the area and the date, so the
    day's run is recorded once however often this is called. A report someone made earlier
    for that date is made again, with the day's numbers complete. Returns how many it queued.
    """
    local = timezone.localtime(now or timezone.now())
    if local.hour < settings.SITUATION_REPORT_HOUR:
        return 0
    day = local.date() - timedelta(days=1)
    queued = 0
    for area in Area.get_root_nodes():
        key = f"{REPORT_REQUESTED}:{area.code}:{day.isoformat()}:daily"
        if Event.objects.filter(key=key).exists():
            continue
        with transaction.atomic():
            report, created = SituationReport.objects.get_or_create(area=area, date=day)
            if not created:
                report_requeue(report, user_id=None)
            event_record(kind=REPORT_REQUESTED, key=key, payload={"report": report.pk, "user": None})
        queued += 1
    return queued


def situation_report_demo(*, area_code: str) -> str:
    """The demo's one report: its top area's of today, made at once (no job) unless it is made.
    Returns what the console prints."""
    area = Area.objects.filter(code=area_code).first()
    if area is None:
        return "-"
    report, _created = SituationReport.objects.get_or_create(area=area, date=timezone.localdate())
    if report.status != SituationReport.STATUS_DONE or report.document_id is None:
        report_render(report, user_id=None)
    return f"{report} ({report.get_status_display()})"


# --- progress ------------------------------------------------------------------------------


def progress_key(report_id: int) -> str:
    return f"situation-report-progress:{report_id}"


def progress_of(reports: list[SituationReport]) -> dict[int, dict]:
    """{report id: {"status", "progress"}}: the row's outcome, or a render's progress while the
    row still says queued (the cache's news of a render not committed yet)."""
    live = cache.get_many([progress_key(r.pk) for r in reports if r.status == SituationReport.STATUS_QUEUED])
    states = {}
    for report in reports:
        state = live.get(progress_key(report.pk)) or {"status": report.status, "progress": report.progress}
        states[report.pk] = state
    return states


class ProgressTeller:
    """Tells how far a render is: to the cache (for the listing's status reads) and live to the
    person who asked. Sent at once, not on commit: progress is news of work under way."""

    def __init__(self, report: SituationReport, user_id: int | None):
        self.report, self.user_id = report, user_id

    def __call__(self, percent: int, status: str = SituationReport.STATUS_RENDERING) -> None:
        cache.set(progress_key(self.report.pk), {"status": status, "progress": percent}, PROGRESS_SECONDS)
        self.publish({"status": status, "progress": percent})

    def publish(self, fields: dict) -> None:
        if self.user_id is None:
            return
        from realtime.publish import publish_to_user

        try:
            publish_to_user(self.user_id, {"type": REPORT_PROGRESS, "report": self.report.pk, **fields})
        except Exception:  # a missed push costs the page one status read, never the render
            logger.warning("report %s: progress not pushed", self.report.pk, exc_info=True)


# --- rendering -----------------------------------------------------------------------------


@handles(REPORT_REQUESTED, queue="documents")
def situation_report_render(event):
    """Render the report the event names, store its PDF as a document, announce it."""
    report = (
        SituationReport.objects.select_for_update(of=("self",))
        .select_related("area", "requested_by")
        .filter(pk=event.payload["report"])
        .first()
    )
    if report is None:
        return {"skipped": "no such report"}
    return report_render(report, user_id=event.payload.get("user"))


def report_render(report: SituationReport, *, user_id: int | None) -> dict:
    """Render, store and announce one report, in the caller's transaction; a failure is the
    report's outcome (failed, with its error), not an exception."""
    tell = ProgressTeller(report, user_id)
    tell(1)
    try:
        with transaction.atomic():  # a database error inside is undone to here, not further
            pdf = situation_pdf(report.area, report.date, progress=tell)
            document = document_store(report, pdf)
    except Exception as error:
        logger.exception("situation report %s failed", report.pk)
        return report_failed(report, error, tell)
    return report_done(report, document, tell)


def report_failed(report: SituationReport, error: Exception, tell: ProgressTeller) -> dict:
    report.status, report.progress = SituationReport.STATUS_FAILED, 0
    report.error = f"{type(error).__name__}: {error}"[:ERROR_MAX_LENGTH]
    report.save(update_fields=["status", "progress", "error", "updated_at"])
    transaction.on_commit(lambda: tell(0, SituationReport.STATUS_FAILED))
    return {"failed": report.error}


def report_done(report: SituationReport, document, tell: ProgressTeller) -> dict:
    replaced = report.document
    report.document = document
    report.status, report.progress, report.error = SituationReport.STATUS_DONE, 100, ""
    report.rendered_at = timezone.now()
    report.save(update_fields=["document", "status", "progress", "error", "rendered_at", "updated_at"])
    if replaced is not None:
        replaced.delete()  # its file goes after commit (below): a rollback keeps both
        transaction.on_commit(lambda: replaced.file.delete(save=False))
    transaction.on_commit(lambda: announce_ready(report, tell))
    return {"document": document.pk}


def announce_ready(report: SituationReport, tell: ProgressTeller) -> None:
    from realtime.publish import publish

    tell(100, SituationReport.STATUS_DONE)
    try:
        publish(
            report.area,
            {
                "type": REPORT_READY,
                "report": report.pk,
                "date": report.date.isoformat(),
                "title": report.document.title,
            },
        )
    except Exception:
        logger.warning("report %s: ready notice not sent", report.pk, exc_info=True)


# --- storage -------------------------------------------------------------------------------


def report_collection() -> Collection:
    """The documents' collection, made on first use under the root collection."""
    found = Collection.objects.filter(name=COLLECTION_NAME).first()
    if found is not None:
        return found
    root = Collection.get_first_root_node() or Collection.add_root(name="Root")  # Wagtail's own, else anew
    return root.add_child(name=COLLECTION_NAME)


def document_store(report: SituationReport, pdf: bytes):
    """The PDF as a new Wagtail document. Its file name carries a random part: documents are
    served through a view that checks the reader's area, and must not be guessable besides."""
    name = (
        f"bao-cao-tinh-hinh-{slugify(report.area.code)}-{report.date.isoformat()}-{secrets.token_hex(8)}.pdf"
    )
    document = get_document_model()(
        title=situation_title(report.area, report.date)[:TITLE_MAX_LENGTH],
        collection=report_collection(),
        uploaded_by_user=report.requested_by,
    )
    document.file.save(name, ContentFile(pdf), save=False)
    try:
        document._set_document_file_metadata()
        document.save()
    except Exception:
        document.file.delete(save=False)  # nothing half-stored: no file without its row
        raise
    return document
