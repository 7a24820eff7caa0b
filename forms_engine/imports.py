"""Bulk imports as background jobs: upload → dry run → confirm → import in batches → result.

- ``import_job_create`` refuses what cannot be a table at once (size, garbage bytes, wrong
  encoding, a header without the required columns or with unknown ones) and stores nothing
  then; otherwise it stores the file and queues the dry run.
- ``import_job_check`` (the dry run) reads every row as the import will and changes nothing:
  whatever a resource writes on the way is rolled back. It leaves counts of new, updated,
  skipped and failed rows, the first rows as they will land, and the row errors.
- ``import_job_confirm`` queues ``import_job_run``: all or nothing (one transaction; one
  failed row and nothing stays) or only the valid rows (a transaction a batch).

Jobs read the file in batches of ``BATCH_ROWS``; progress is saved on the job (the page polls
it) and pushed to the importer's open pages. What a row becomes is the business of the kind's
importer: submissions (import_submissions.py, the fast path) or a django-import-export
resource (``ResourceImporter``; places/resources.py, tracing/resources.py).
"""

import logging
import threading
import time
from collections import Counter
from itertools import islice

import tablib
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail import hooks

from places.models import Area
from places.selectors import area_scope
from realtime.publish import publish_to_user

from .import_files import SNIFF_BYTES, ErrorSheet, FileRefused, sniff_format, table_open
from .import_submissions import RowOutcome, SubmissionImporter, header_problems
from .models import FormPage, ImportJob

logger = logging.getLogger(__name__)

BATCH_ROWS = 1000
ERRORS_KEPT = 100  # on the job, for the page; the CSV has them all
PREVIEW_ROWS = 10
PROGRESS_EVERY_SECONDS = 0.5
IMPORT_QUEUE = "default"
# fn() -> {kind: fn(job) -> importer}: apps that forms_engine may not import add their kinds.
IMPORTERS_HOOK = "register_importers"

TOO_LARGE = gettext_lazy("The file is larger than %(mb)d MB.")
NO_AREA = gettext_lazy("You have no area to import into; ask your administrator for one.")
FORM_NEEDED = gettext_lazy("Choose the form whose submissions the file holds.")
FORM_NOT_PUBLISHED = gettext_lazy("This form has no published version yet.")
FORM_OUTSIDE_SCOPE = gettext_lazy("This form belongs to another area.")
NOT_CHECKED = gettext_lazy("Only a checked file can be imported.")
FIX_OR_CHOOSE = gettext_lazy(
    "Some rows failed: correct the file and upload it again, or choose to import only the valid rows."
)
NOTHING_IMPORTED = gettext_lazy("Nothing was imported: %(n)d rows failed.")
JOB_CRASHED = gettext_lazy("The import stopped on an unexpected error; nothing of the failed batch was kept.")
LABELS_MATCH_SHARE = 0.5


# --- services (the admin views call these) -----------------------------------------------------


def import_job_create(
    *, user, kind: str, upload, form: FormPage | None = None, all_or_nothing: bool = True
) -> ImportJob:
    """Store an upload as a job and queue its dry run; FileRefused (nothing stored) for a file
    that cannot be imported, with the reason."""
    scope = importer_scope(user)
    if upload.size > settings.IMPORT_MAX_BYTES:
        raise FileRefused(TOO_LARGE % {"mb": settings.IMPORT_MAX_BYTES // (1024 * 1024)})
    form = form_check(kind, form, scope)
    upload.seek(0)
    fmt = sniff_format(upload.read(SNIFF_BYTES))
    job = ImportJob(
        kind=kind,
        form=form,
        format=fmt,
        all_or_nothing=all_or_nothing,
        scope_area=scope,
        created_by=user,
        file_name=upload.name[-255:],
    )
    header_check(job, upload.file)
    upload.seek(0)
    job.file.save(upload.name[-100:], upload, save=False)
    job.save()
    job_enqueue("forms_engine.imports.import_job_check", job.pk)
    return job


def importer_scope(user) -> Area | None:
    """The importer's area (None: a superuser's whole tree); FileRefused without one."""
    scope = area_scope(user=user)
    if scope is None:
        raise FileRefused(NO_AREA)
    return None if scope is True else scope


def form_check(kind: str, form: FormPage | None, scope: Area | None) -> FormPage | None:
    if kind != ImportJob.KIND_SUBMISSIONS:
        return None
    if form is None:
        raise FileRefused(FORM_NEEDED)
    if form.current_version is None:
        raise FileRefused(FORM_NOT_PUBLISHED)
    if scope is not None and not (form.area.contains(scope) or scope.contains(form.area)):
        raise FileRefused(FORM_OUTSIDE_SCOPE)
    return form


def header_check(job: ImportJob, fileobj) -> None:
    """Read the header (and nothing more) as the job will; FileRefused when it will not do."""
    table = table_open(fileobj, job.format)
    try:
        problems = header_problems(importer_for(job), table.header)
    finally:
        table.close()
    if problems:
        raise FileRefused(" ".join(problems))


def import_job_confirm(*, job: ImportJob, all_or_nothing: bool) -> ImportJob:
    """Queue the import of a checked file; FileRefused when it may not start."""
    if job.status != ImportJob.STATUS_CHECKED:
        raise FileRefused(NOT_CHECKED)
    if all_or_nothing and job.count_failed:
        raise FileRefused(FIX_OR_CHOOSE)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.STATUS_IMPORTING, all_or_nothing=all_or_nothing, progress=0, message=""
    )
    job.refresh_from_db()
    job_enqueue("forms_engine.imports.import_job_run", job.pk)
    return job


def job_enqueue(function: str, *args) -> None:
    """On the RQ queue after commit; in the embedded default (no Redis), in this process."""
    if not settings.RQ_QUEUES[IMPORT_QUEUE].get("ASYNC", True):
        transaction.on_commit(lambda: import_string(function)(*args))
        return

    def enqueue():
        import django_rq

        django_rq.get_queue(IMPORT_QUEUE).enqueue(function, *args, job_timeout=3600, result_ttl=0)

    transaction.on_commit(enqueue)


# --- the jobs --------------------------------------------------------------------------------


def import_job_check(job_id: int) -> None:
    """RQ job: the dry run."""
    job_run(ImportJob.objects.select_related("form", "created_by", "scope_area").get(pk=job_id), write=False)


def import_job_run(job_id: int) -> None:
    """RQ job: the import, once confirmed."""
    job_run(ImportJob.objects.select_related("form", "created_by", "scope_area").get(pk=job_id), write=True)


def job_run(job: ImportJob, *, write: bool) -> None:
    status = ImportJob.STATUS_IMPORTING if write else ImportJob.STATUS_CHECKING
    job_update(job, status=status, progress=0, started_at=timezone.now())
    tally = None
    try:
        with job.file.open("rb") as fileobj:
            table = table_open(fileobj, job.format)
            try:
                importer = importer_for(job)
                if problems := header_problems(importer, table.header):
                    raise FileRefused(" ".join(problems))
                tally = Tally(job, table.header, total=table.total)
                rows_import(job, importer, table, tally, write=write)
            finally:
                table.close()
    except FileRefused as refusal:
        return job_finish(job, tally, failed=refusal.message)
    except Exception:
        logger.exception("import job %s failed", job.pk)
        return job_finish(job, tally, failed=str(JOB_CRASHED))
    failed = NOTHING_IMPORTED % {"n": tally.counts["failed"]} if write and tally.rolled_back else ""
    job_finish(job, tally, failed=failed)


def rows_import(job: ImportJob, importer, table, tally: "Tally", *, write: bool) -> None:
    """The three ways through the rows: dry run, all or nothing, valid rows only."""
    rows = rows_after_labels(table.rows, getattr(importer, "labels", {}))
    if not write:  # resources save as they go (a village, then the group under it): undo it all
        with transaction.atomic():
            tally.run(rows, importer, write=False)
            transaction.set_rollback(True)
    elif job.all_or_nothing:
        with transaction.atomic():
            tally.run(rows, importer, write=True, stop_writing_on_failure=True)
            if tally.counts["failed"]:
                tally.rolled_back = True
                transaction.set_rollback(True)
    else:
        tally.run(rows, importer, write=True, batch_transactions=True)


def rows_after_labels(rows, labels: dict):
    """The rows without the export's second header row (the fields' labels), if it is there."""
    first = next(rows, None)
    if first is None:
        return iter(())
    _number, row = first
    cells = [(column, str(value).strip()) for column, value in row.items() if str(value).strip()]
    matching = sum(1 for column, value in cells if str(labels.get(column, "")).strip() == value)
    if cells and labels and matching >= LABELS_MATCH_SHARE * len(cells):
        return rows
    return _chain_first(first, rows)


def _chain_first(first, rest):
    yield first
    yield from rest


class Tally:
    """Counts, the first errors and preview rows, the error sheet and progress of one run."""

    def __init__(self, job: ImportJob, header: list[str], *, total: int):
        self.job, self.total = job, max(total, 1)
        self.counts = Counter({"new": 0, "updated": 0, "skipped": 0, "failed": 0})
        self.errors: list[dict] = []
        self.preview: list[dict] = []
        self.sheet = ErrorSheet(header)
        self.done = 0
        self.rolled_back = False
        self.last_report = 0.0

    def run(self, rows, importer, *, write: bool, stop_writing_on_failure=False, batch_transactions=False):
        while batch := list(islice(rows, BATCH_ROWS)):
            writing = write and not (stop_writing_on_failure and self.counts["failed"])
            if batch_transactions:
                with transaction.atomic():
                    outcomes = importer.batch(batch, write=writing)
            else:
                outcomes = importer.batch(batch, write=writing)
            self.add(dict(batch), outcomes)
            self.report()

    def add(self, rows: dict, outcomes: list[RowOutcome]) -> None:
        for outcome in outcomes:
            self.counts[outcome.outcome] += 1
            if outcome.outcome == "failed":
                for column, message in outcome.errors or [("", "")]:
                    self.sheet.add(outcome.number, column, message, rows.get(outcome.number, {}))
                    if len(self.errors) < ERRORS_KEPT:
                        self.errors.append({"row": outcome.number, "column": column, "message": message})
            elif outcome.landed is not None and len(self.preview) < PREVIEW_ROWS:
                self.preview.append({"row": outcome.number, "outcome": outcome.outcome, **outcome.landed})
        self.done += len(outcomes)

    def report(self, *, force=False) -> None:
        """Progress on the job and to the importer's pages, at most every PROGRESS_EVERY_SECONDS."""
        now = time.monotonic()
        if not force and now - self.last_report < PROGRESS_EVERY_SECONDS:
            return
        self.last_report = now
        progress = min(99, self.done * 100 // self.total)
        progress_save(self.job.pk, progress=progress, **self.count_fields())
        progress_publish(self.job, progress=progress, counts=dict(self.counts))

    def count_fields(self) -> dict:
        return {f"count_{name}": self.counts[name] for name in ("new", "updated", "skipped", "failed")}


def progress_save(job_id: int, **fields) -> None:
    """Inside the import's transaction the job's row must be written by another connection,
    or the page would see nothing until the end: a short thread has one of its own."""
    if not connection.in_atomic_block:
        ImportJob.objects.filter(pk=job_id).update(**fields)
        return
    if connection.vendor == "sqlite":
        return  # one writer at a time: the other connection would wait for the import's end

    def save():
        try:
            ImportJob.objects.filter(pk=job_id).update(**fields)
        finally:
            connection.close()

    thread = threading.Thread(target=save, daemon=True)
    thread.start()
    thread.join(timeout=10)


def progress_publish(job: ImportJob, *, progress: int, counts: dict, status: str = "") -> None:
    event = {"type": "import.progress", "job": job.pk, "status": status or job.status, "progress": progress}
    try:
        publish_to_user(job.created_by_id, {**event, "counts": counts})
    except Exception:  # a live bar is a nicety: the page polls the job too
        logger.warning("import job %s: progress not pushed", job.pk, exc_info=True)


def job_update(job: ImportJob, **fields) -> None:
    for name, value in fields.items():
        setattr(job, name, value)
    ImportJob.objects.filter(pk=job.pk).update(**fields)


def job_finish(job: ImportJob, tally: Tally | None, *, failed: str = "") -> None:
    """The run's outcome on the job: counts, preview, errors (and their CSV), status."""
    fields = {"progress": 100, "finished_at": timezone.now(), "message": failed}
    if job.status == ImportJob.STATUS_CHECKING:
        fields["checked_at"] = fields["finished_at"]
        fields["status"] = ImportJob.STATUS_FAILED if tally is None else ImportJob.STATUS_CHECKED
        fields["message"] = failed if tally is None else ""
    else:
        fields["status"] = ImportJob.STATUS_FAILED if failed else ImportJob.STATUS_DONE
    if tally is not None:
        fields.update(tally.count_fields(), total_rows=tally.done, errors=tally.errors)
        if job.status == ImportJob.STATUS_CHECKING:
            fields["preview"] = {"rows": tally.preview}
        if tally.sheet.count:
            job.errors_file.save(f"import-{job.pk}-errors.csv", tally.sheet.as_file(), save=False)
            fields["errors_file"] = job.errors_file.name
        tally.sheet.close()
    job_update(job, **fields)
    progress_publish(job, progress=100, counts=dict(tally.counts) if tally else {}, status=job.status)


# --- importers by kind -----------------------------------------------------------------------


def importer_for(job: ImportJob):
    if job.kind == ImportJob.KIND_SUBMISSIONS:
        return SubmissionImporter(
            form=job.form, version=job.form.current_version, user=job.created_by, scope_area=job.scope_area
        )
    makers = {}
    for register in hooks.get_hooks(IMPORTERS_HOOK):
        makers.update(register())
    if job.kind not in makers:
        raise FileRefused(_("This kind of import is not available."))
    return makers[job.kind](job)


class ResourceImporter:
    """A django-import-export resource as a batch importer: each batch one ``import_data``,
    a row a savepoint; the resource's hooks raise ValidationError for a row that may not land.

    The resource says which columns a file must have (``required_columns``) and may carry
    the fields' labels (``labels``: a second header row of them is skipped).
    """

    def __init__(self, resource):
        self.resource = resource
        self.labels = getattr(resource, "labels", {})

    def allowed_columns(self) -> set[str]:
        return {f.column_name for f in self.resource.get_import_fields()}

    def required_columns(self) -> set[str]:
        return set(getattr(self.resource, "required_columns", ()))

    def header_covers(self, header: list[str], column: str) -> bool:
        return column in header

    def batch(self, rows: list[tuple[int, dict]], *, write: bool) -> list[RowOutcome]:
        header = list(dict.fromkeys(column for _number, row in rows for column in row))
        dataset = tablib.Dataset(headers=header)
        for _number, row in rows:
            dataset.append([row.get(column, "") for column in header])
        result = self.resource.import_data(dataset, dry_run=False, use_transactions=True, raise_errors=False)
        numbers = [number for number, _row in rows]
        columns = {f.attribute: f.column_name for f in self.resource.get_import_fields()}
        outcomes = [row_outcome(n, row, columns) for n, row in zip(numbers, result.rows, strict=False)]
        if result.has_errors():  # import_data rolled the batch back: none of it stayed
            for outcome in outcomes:
                if outcome.outcome != "failed":
                    outcome.outcome, outcome.errors = "failed", [("", _("Not saved: another row failed."))]
        return outcomes


ROW_OUTCOMES = {"new": "new", "update": "updated", "skip": "skipped", "delete": "skipped"}


def row_outcome(number: int, row_result, columns: dict) -> RowOutcome:
    """A resource's row result as a RowOutcome; errors named by the file's column."""
    if row_result.validation_error is not None:
        messages = validation_messages(row_result.validation_error)
        return RowOutcome(number, "failed", [(columns.get(f, f), m) for f, m in messages])
    if row_result.errors:
        return RowOutcome(number, "failed", [("", _("The row could not be saved."))])
    landed = {"values": {k: str(v) for k, v in (row_result.row_values or {}).items()}}
    return RowOutcome(number, ROW_OUTCOMES.get(row_result.import_type, "skipped"), landed=landed)


def validation_messages(error: ValidationError) -> list[tuple[str, str]]:
    if hasattr(error, "error_dict"):
        return [
            ("" if field == "__all__" else field, message)
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return [("", message) for message in error.messages]
