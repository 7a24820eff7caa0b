"""A 100,000-row vaccination file through the import job, against django-import-export's default
row-by-row import of the same rows (its first ``--baseline-rows``, scaled), in the same run.

    .venv/bin/python bench/import/run.py                       # 100,000 rows, baseline on 10,000
    .venv/bin/python bench/import/run.py --rows 5000 --baseline-rows 500 --no-save   # smoke

Needs PostgreSQL (``DATABASE_URL`` names the server, else postgres@127.0.0.1:5432) and Redis
(``REDIS_URL``, else 127.0.0.1:6379/12; that database is emptied): with Redis the import's
outbox events wait for the scheduler, as in production, instead of being handled in the
importing process. Each run:

1. drops and recreates the database ``od_bench_import``, migrates it and loads the demo
   province (``load_demo``: areas down to villages, places, the six forms, the users);
2. writes a CSV of ``--rows`` vaccination records (seeded): the demo vaccination form's keys,
   Vietnamese names, unique citizen IDs, phones, a village of the province as home area, one
   of the demo's vaccination sites, vaccine, dose, date, lot number;
3. stores it as an import job of the province admin ``quantri.tinh`` and runs, each in a
   fresh OS process as an RQ worker would, the dry run (``import_job_check``) and then the
   import (``import_job_run``, all or nothing): wall time and peak RSS of each process;
4. the baseline, in a fresh process: a plain ``ModelResource`` over Submission with
   django-import-export's default settings, ``import_data`` on the same records' first
   ``--baseline-rows`` rows (one column per model field, the values as the import stored
   them, fresh client_ids), timed and scaled to ``--rows``;
5. checks the stored submissions and outbox events equal the rows, saves
   bench/results/import.json and drops the database (``--keep`` keeps it).
"""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common import RESULTS, database_urls, recreate_database, setup_django  # noqa: E402

DB_NAME = "od_bench_import"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
FORM_SLUG = "ghi-nhan-tiem-chung"
IMPORTER = "quantri.tinh"
TARGETS = {"seconds": 60, "peak_rss_mb": 300, "ratio": 5.0}

FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
]
MIDDLE = {
    "male": ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh"],
    "female": ["Thị", "Ngọc", "Thu", "Thanh", "Mỹ"],
}
GIVEN = {
    "male": [
        "An",
        "Bình",
        "Cường",
        "Dũng",
        "Hải",
        "Hiếu",
        "Hùng",
        "Khánh",
        "Long",
        "Nam",
        "Phúc",
        "Quân",
        "Sơn",
    ],
    "female": [
        "Hà",
        "Hạnh",
        "Hoa",
        "Hương",
        "Lan",
        "Linh",
        "Mai",
        "Nga",
        "Phương",
        "Thảo",
        "Trang",
        "Vy",
        "Yến",
    ],
}
MOBILE_PREFIXES = ["090", "091", "093", "094", "096", "097", "098", "086", "088", "070", "077", "079", "083"]
VACCINES = ["astrazeneca", "moderna", "pfizer", "sinopharm", "sputnik_v", "abdala"]
HEADER = [
    "person.full_name",
    "person.sex",
    "person.national_id",
    "person.phone",
    "person.birth_date",
    "person.home_area",
    "person.address",
    "vaccine",
    "dose",
    "vaccination_date",
    "site",
    "lot_number",
]


def vaccination_csv(path: Path, *, rows: int, villages: list[str], sites: list[str], seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - synthetic data, seeded
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            sex = rng.choice(("male", "female"))
            born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 63))
            name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE[sex])} {rng.choice(GIVEN[sex])}"
            century_sex = (0 if sex == "male" else 1) + (2 if born.year >= 2000 else 0)
            national_id = f"056{century_sex}{born.year % 100:02d}{n:06d}"
            phone = (
                f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(0, 10**7):07d}" if rng.random() < 0.7 else ""
            )
            writer.writerow(
                [
                    name,
                    "Nam" if sex == "male" else "Nữ",
                    national_id,
                    phone,
                    born.isoformat(),
                    rng.choice(villages),
                    f"{rng.randrange(1, 300)} đường {rng.choice(GIVEN['male'])}",
                    rng.choice(VACCINES),
                    rng.choice(("1", "2")),
                    (date(2021, 7, 1) + timedelta(days=rng.randrange(0, 92))).isoformat(),
                    rng.choice(sites),
                    f"{rng.choice('ABCDEFGH')}{rng.randrange(1000, 9999)}",
                ]
            )


# --- the child processes: one measured step each ----------------------------------------------


def child(step: str, arg: str) -> None:
    """Run one step in this fresh process and print its wall time and peak RSS as JSON."""
    setup_django()
    started = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    extra = {}
    if step == "check":
        from forms_engine.imports import import_job_check

        import_job_check(int(arg))
    elif step == "import":
        from forms_engine.imports import import_job_run

        import_job_run(int(arg))
    elif step == "baseline":
        extra = baseline_import(Path(arg))
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures = {
        "seconds": round(seconds, 2),
        # The machine may be shared: the process's own CPU time says what it cost, whatever else ran.
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime - cpu_before, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }
    print(json.dumps({**figures, **extra}))


def baseline_import(path: Path) -> dict:
    """django-import-export's defaults: a plain ModelResource, import_data row by row."""
    import tablib
    from import_export import resources

    from forms_engine.models import Submission

    class PlainSubmissionResource(resources.ModelResource):
        class Meta:
            model = Submission

    dataset = tablib.Dataset().load(path.read_text(encoding="utf-8"), format="csv")
    result = PlainSubmissionResource().import_data(dataset)
    return {"rows": len(dataset), "errors": len(result.row_errors()) + len(result.invalid_rows)}


def run_child(step: str, arg) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", step, str(arg)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


# --- the run -----------------------------------------------------------------------------------


def prepare(args, workdir: Path) -> tuple[int, Path]:
    """Demo province loaded, the CSV written and stored as a job; (job id, CSV path)."""
    from django.contrib.auth import get_user_model
    from django.core.files import File
    from django.core.management import call_command

    from forms_engine.models import FormPage, ImportJob
    from places.models import Area, Place

    call_command("migrate", verbosity=0, interactive=False)
    call_command("load_demo", verbosity=0)
    villages = list(Area.objects.filter(depth__gte=4, numchild=0).values_list("code", flat=True))
    sites = list(
        Place.objects.filter(kind=Place.KIND_VACCINATION_SITE, is_active=True).values_list("code", flat=True)
    )
    path = workdir / "tiem-chung.csv"
    vaccination_csv(path, rows=args.rows, villages=villages, sites=sites, seed=args.seed)
    user = get_user_model().objects.get(username=IMPORTER)
    with open(path, "rb") as handle:
        job = ImportJob(
            kind=ImportJob.KIND_SUBMISSIONS,
            form=FormPage.objects.get(slug=FORM_SLUG),
            format=ImportJob.FORMAT_CSV,
            scope_area=user.area_scope.area,
            created_by=user,
            file_name=path.name,
        )
        job.file.save(path.name, File(handle), save=True)
    print(
        f"{args.rows} rows, {path.stat().st_size / 1e6:.1f} MB, {len(villages)} villages, {len(sites)} sites"
    )
    return job.pk, path


def baseline_file(args, workdir: Path) -> Path:
    """The first rows as the default resource reads them: a column per Submission field."""
    from forms_engine.models import Submission

    path = workdir / "baseline.csv"
    fields = ["form", "version", "client_id", "data", "data_hash", "status", "source", "area", "place"]
    rows = Submission.objects.order_by("pk").values_list(
        "form_id", "version_id", "data", "data_hash", "status", "source", "area_id", "place_id"
    )[: args.baseline_rows]
    import uuid

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(fields)
        for form, version, data, data_hash, status, source, area, place in rows:
            data_text = json.dumps(data, ensure_ascii=False)
            writer.writerow(
                [form, version, uuid.uuid4(), data_text, data_hash, status, source, area, place or ""]
            )
    return path


def run(args) -> dict:
    from forms_engine.models import ImportJob, Submission
    from workflows.events import SUBMISSION_ACCEPTED
    from workflows.models import Event

    workdir = Path(tempfile.mkdtemp(prefix="od-bench-import-"))
    job_id, _path = prepare(args, workdir)
    check = run_child("check", job_id)
    job = ImportJob.objects.get(pk=job_id)
    print(f"dry run: {check}, new {job.count_new}, failed {job.count_failed}")
    assert job.count_new == args.rows and job.count_failed == 0, job.errors[:5]
    ImportJob.objects.filter(pk=job_id).update(status=ImportJob.STATUS_IMPORTING, all_or_nothing=True)
    imported = run_child("import", job_id)
    job.refresh_from_db()
    stored, events = Submission.objects.count(), Event.objects.filter(kind=SUBMISSION_ACCEPTED).count()
    print(f"import: {imported}, status {job.status}, {stored} submissions, {events} events")
    assert job.status == ImportJob.STATUS_DONE and stored == args.rows and events == args.rows
    baseline = run_child("baseline", baseline_file(args, workdir))
    assert baseline["errors"] == 0, baseline
    baseline_scaled = baseline["seconds"] * args.rows / baseline["rows"]
    print(f"baseline: {baseline}, scaled to {args.rows} rows: {baseline_scaled:.1f} s")
    return {
        "rows": args.rows,
        "file_mb": round(_path.stat().st_size / 1e6, 1),
        "import_seconds": imported["seconds"],
        "import_rows_per_s": round(args.rows / imported["seconds"]),
        "import_cpu_seconds": imported["cpu_seconds"],
        "import_peak_rss_mb": imported["peak_rss_mb"],
        "import_load_average": imported["load_average"],
        "dry_run_seconds": check["seconds"],
        "dry_run_cpu_seconds": check["cpu_seconds"],
        "dry_run_peak_rss_mb": check["peak_rss_mb"],
        "baseline_rows": baseline["rows"],
        "baseline_seconds": baseline["seconds"],
        "baseline_seconds_scaled": round(baseline_scaled, 1),
        "baseline_cpu_seconds": baseline["cpu_seconds"],
        "baseline_peak_rss_mb": baseline["peak_rss_mb"],
        "baseline_load_average": baseline["load_average"],
        "ratio": round(baseline_scaled / imported["seconds"], 1),
        "ratio_cpu": round(
            baseline["cpu_seconds"] * args.rows / baseline["rows"] / imported["cpu_seconds"], 1
        ),
        "targets": TARGETS,
    }


def save_json(figures: dict) -> None:
    """bench/results/import.json (docs/benchmarks.md is edited by hand)."""
    import platform

    figures = {
        **figures,
        "database": "postgresql",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "import.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(figures, indent=2, ensure_ascii=False))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("STEP", "ARG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    maintenance_url, database_url = database_urls(
        os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL, DB_NAME
    )
    redis_url = os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL
    media = tempfile.mkdtemp(prefix="od-bench-import-media-")
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        MEDIA_ROOT=media,
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="website.settings.test",
    )
    recreate_database(maintenance_url, DB_NAME)
    try:
        setup_django()
        from redis import Redis

        Redis.from_url(redis_url).flushdb()
        figures = run(args)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            recreate_database(maintenance_url, DB_NAME, drop_only=True)
    if not args.no_save:
        save_json(figures)
    else:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
