"""The province's daily situation report over 200 communes: wall time and peak memory.

A synthetic province of ``--communes`` communes in ``--districts`` districts, with daily
counters for the last ``--days`` days inserted in bulk (every metric the report reads, each
commune's rows and, summed, each district's and the province's, as the handlers would have
left them). The report goes through the product's own path: ``reports.situation.situation_pdf``
(the dashboard's reads, the SVG charts, the print template, reports.pdf's WeasyPrint), and
once through the whole job (``report_render``: rendered and stored as a Wagtail document).

Needs PostgreSQL (DATABASE_URL names the server, else postgres@127.0.0.1:5432): the database
``od_bench_pdf_report`` is made, loaded, and dropped after (``--keep`` keeps it). The render
is measured in a fresh process, as a worker's, so that its peak memory is not the loading's.
Targets (issue 7): under 3 s and 300 MB.

    .venv/bin/python bench/pdf/report.py [--runs 5] [--communes 200] [--no-save]

Saves bench/results/pdf_report.json (the table in docs/benchmarks.md is written by hand).
"""

import argparse
import io
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, database_urls, recreate_database, setup_django  # noqa: E402

DB_NAME = "od_bench_pdf_report"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"

TARGETS = {"seconds": 3.0, "peak_rss_mb": 300}
NAMES = (
    "Xã Ứng Hòa",
    "Phường Lộc Thọ",
    "Thị trấn Diên Khánh",
    "Xã Suối Tiên",
    "Xã Ninh Hưng",
    "Xã Cam Hải Tây",
)
# metric, key, the largest value a commune has on a day
COUNTERS = (
    ("cases_f0", "", 3),
    ("cases_f1", "", 12),
    ("cases_f2", "", 20),
    ("tests", "rt_pcr_don", 80),
    ("tests", "test_nhanh", 150),
    ("tests_positive", "rt_pcr_don", 3),
    ("doses", "astrazeneca|1", 120),
    ("doses", "pfizer|2", 90),
    ("checkpoint_in", "79", 40),
    ("checkpoint_out", "79", 30),
    ("missed_checkins", "", 2),
    ("alerts", "missed_checkin", 2),
    ("quarantine_started", "facility", 4),
    ("quarantine_started", "home", 6),
    ("quarantine_ended", "facility", 3),
    ("quarantine_ended", "home", 5),
    ("declarations", "", 60),
)


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: after fork and
    exec, Linux carries the parent's peak into it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes, elsewhere


def province_build(districts: int, communes: int):
    """The areas in bulk, their materialised paths computed as treebeard would."""
    from places.folding import fold
    from places.models import Area

    def row(path, code, name, label, children=0):
        return Area(
            path=path,
            depth=len(path) // Area.steplen,
            numchild=children,
            code=code,
            name=name,
            name_folded=fold(name),
            level_label=label,
            population=0 if children else 9000,
        )

    province = Area.add_root(code="99", name="Tỉnh Đắk Lắk Thử Nghiệm", level_label="Tỉnh")
    per_district = communes // districts
    rows = []
    for d in range(districts):
        path = Area._get_path(province.path, 2, d + 1)
        rows.append(row(path, f"9{d:02d}", f"Huyện Krông Ắk {d + 1}", "Huyện", per_district))
        for c in range(per_district):
            number = d * per_district + c + 1
            name = f"{NAMES[number % len(NAMES)]} {number}"
            rows.append(row(Area._get_path(path, 3, c + 1), f"99{number:03d}", name, "Xã"))
    Area.objects.bulk_create(rows)
    Area.objects.filter(pk=province.pk).update(numchild=districts, population=9000 * communes)
    return Area.objects.get(pk=province.pk)


def counters_insert(province, *, days: int, seed: int) -> int:
    """Every commune's counters for ``days`` days, with their totals (key "") and each
    district's and the province's sums: the rows the handlers would have left."""
    from django.utils import timezone

    from places.models import Area
    from reports.models import DailyCount

    rng = random.Random(seed)  # noqa: S311 - synthetic numbers, not secrets
    communes = list(Area.objects.filter(depth=3, path__startswith=province.path))
    districts = {a.path: a.pk for a in Area.objects.filter(depth=2, path__startswith=province.path)}
    steplen = Area.steplen
    today = timezone.localdate()
    totals = Counter()
    for commune in communes:
        chain = (commune.pk, districts[commune.path[: 2 * steplen]], province.pk)
        for offset in range(days):
            day = today - timedelta(days=offset)
            for metric, key, most in COUNTERS:
                value = rng.randint(0, most)
                if not value:
                    continue
                for area_id in chain:
                    totals[(area_id, day, metric, key)] += value
                    if key:
                        totals[(area_id, day, metric, "")] += value
    rows = [DailyCount(area_id=a, date=d, metric=m, key=k, value=v) for (a, d, m, k), v in totals.items()]
    DailyCount.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--districts", type=int, default=10)
    parser.add_argument("--communes", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()

    os.environ.update(LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="website.settings.test")
    os.environ.pop("REDIS_URL", None)  # in-process queues and channel layer: the render alone
    if args.measure:
        setup_django()
        print(json.dumps(measure(args)))
        return
    maintenance_url, database_url = database_urls(
        os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL, DB_NAME
    )
    os.environ["DATABASE_URL"] = database_url
    recreate_database(maintenance_url, DB_NAME)
    try:
        figures = {**prepare(args), **measured_in_a_fresh_process(args)}
    finally:
        if not args.keep:
            recreate_database(maintenance_url, DB_NAME, drop_only=True)
    figures.update(
        target_met=max(figures["seconds_render_median"], figures["seconds_job"]) < TARGETS["seconds"]
        and figures["peak_rss_mb"] < TARGETS["peak_rss_mb"],
        measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
        python=platform.python_version(),
        machine=f"{platform.machine()}, {os.cpu_count()} cores",
    )
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "pdf_report.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")


def prepare(args) -> dict:
    """Migrate the database and load the province and its counters (in this process)."""
    setup_django()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    province = province_build(args.districts, args.communes)
    rows = counters_insert(province, days=args.days, seed=args.seed)
    connections.close_all()
    return {"database": "PostgreSQL", "counter_rows": rows}


def measured_in_a_fresh_process(args) -> dict:
    """The render measured in a process of its own, as a worker's: its peak memory is the
    render's (and Django's), not the loading's."""
    media = tempfile.mkdtemp(prefix="od-bench-report-")
    command = [sys.executable, __file__, "--measure", "--runs", str(args.runs)]
    done = subprocess.run(
        command, env={**os.environ, "MEDIA_ROOT": media}, capture_output=True, text=True, check=True
    )
    shutil.rmtree(media, ignore_errors=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(args) -> dict:
    from django.utils import timezone
    from pypdf import PdfReader

    from places.models import Area
    from reports.models import SituationReport
    from reports.situation import situation_pdf
    from reports.situation_jobs import report_render

    province = Area.objects.get(code="99")
    day = timezone.localdate()
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    content = situation_pdf(province, day)  # the first in this process: fonts and templates load
    first = time.perf_counter() - start
    timings, cpu = [], []
    for _ in range(args.runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        situation_pdf(province, day)
        timings.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)

    report = SituationReport.objects.create(area=province, date=day)
    start = time.perf_counter()
    report_render(report, user_id=None)  # rendered, stored as a document, announced
    job = time.perf_counter() - start
    report.refresh_from_db()
    return {
        "districts": Area.objects.filter(depth=2).count(),
        "communes": Area.objects.filter(depth=3).count(),
        "pages": len(PdfReader(io.BytesIO(content)).pages),
        "pdf_bytes": len(content),
        "runs": args.runs,
        "seconds_first_render": round(first, 3),
        "seconds_render_median": round(statistics.median(timings), 3),
        "seconds_render_min": round(min(timings), 3),
        "seconds_render_max": round(max(timings), 3),
        # CPU seconds of the render: what the wall time would be on an idle core.
        "cpu_seconds_render_median": round(statistics.median(cpu), 3),
        "seconds_job": round(job, 3),
        "job_status": report.status,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_rendering_mb": round(rss_before, 1),
        "targets": TARGETS,
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


if __name__ == "__main__":
    main()
