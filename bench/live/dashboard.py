"""The dashboard API over the daily counters of 10 million synthetic submissions, against a
naive GROUP BY over the submissions themselves, in the same run.

    .venv/bin/python bench/live/dashboard.py                              # the full run
    .venv/bin/python bench/live/dashboard.py --submissions 20000 --requests 20 --no-save  # smoke

Needs PostgreSQL (``DATABASE_URL`` names the server, else postgres@127.0.0.1:5432). Each run:

1. drops and recreates the database ``od_bench_live_dashboard``, migrates it, loads the demo
   province's areas (Khánh Hòa: 9 districts, 132 communes) and publishes one form of each kind
   the counters read (checkpoint, health declaration, testing, vaccination);
2. inserts ``--submissions`` accepted submissions with one INSERT … SELECT over
   generate_series (seeded): a kind each in turn, a random commune, a random time over the
   last ``--days`` days, random values (direction and origin, test type and result, vaccine
   and dose), then ANALYZE;
3. counts them with ``manage.py rebuild_aggregates``' own code (reports.rebuild: what the
   handlers would have added event by event), timed;
4. times ``GET /api/v1/dashboard`` (the whole Django request, in process, as a superuser) for
   the province, each district and some communes, the last 30 days, ``--requests`` times in
   all; and the naive way: the same numbers (daily series in the range and totals to its end,
   by metric) by GROUP BY over the submissions of the area's subtree, ``--naive-requests``
   times for the province and a district;
5. prints the table, saves bench/results/live_dashboard.json and its section of
   docs/benchmarks.md, and drops the database (``--keep`` keeps it).

``--reuse`` times steps 4 and 5 on the database a ``--keep`` run left (same ``--submissions``),
reporting that run's insert and rebuild figures: building 10 million submissions takes 20
minutes, the reads a few.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common import database_urls, recreate_database, save, setup_django  # noqa: E402

DB_NAME = "od_bench_live_dashboard"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
TARGETS = {"p95_ms": 20, "ratio": 100}
ORIGINS = ["01", "79", "48", "56", "54", "58", "62", "66", "74", "75"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict:
    return {
        "p50": round(statistics.median(values), 2),
        "p95": round(percentile(values, 0.95), 2),
        "max": round(max(values), 2),
    }


def province_load() -> dict:
    from places.loaders import load_areas_file, package_data_path
    from tests.factories import publish_form
    from tests.reports.conftest import COUNTED_FORMS
    from website.demo.load import demo_home_page_ensure

    load_areas_file(package_data_path(), province="56")
    home = demo_home_page_ensure()
    from places.models import Area

    province = Area.objects.get(code="56")
    return {
        kind: publish_form(
            home, slug=f"bench-{kind.replace('_', '-')}", fields=fields, area=province, kind=kind
        )
        for kind, fields in COUNTED_FORMS.items()
    }


SUBMISSIONS_SQL = """
WITH forms(n, form_id, version_id) AS (
       SELECT * FROM unnest(%(ns)s::int[], %(forms)s::int[], %(versions)s::bigint[])),
     communes AS (SELECT array_agg(id ORDER BY id) AS ids FROM places_area WHERE depth = 3),
     rows AS (
       SELECT g, g %% 4 AS n, random() AS r1, random() AS r2, random() AS r3,
              now() - random() * make_interval(days => %(days)s) AS at
       FROM generate_series(1, %(count)s) AS g)
INSERT INTO forms_engine_submission
  (client_id, data, data_hash, status, status_reason, source, created_at, area_id, form_id, version_id,
   expired, has_unpublished_changes, live)
SELECT gen_random_uuid(),
       CASE rows.n
         WHEN 0 THEN jsonb_build_object('direction', CASE WHEN r1 < 0.5 THEN 'in' ELSE 'out' END,
                                        'origin', (%(origins)s::text[])[1 + floor(r2 * %(n_origins)s)::int])
         WHEN 1 THEN '{}'::jsonb
         WHEN 2 THEN jsonb_build_object(
             'test_type', CASE WHEN r1 < 0.7 THEN 'rt_pcr_don' ELSE 'test_nhanh' END,
             'result', CASE WHEN r2 < 0.03 THEN 'positive' ELSE 'negative' END,
             'sample_date', to_char(at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD'))
         ELSE jsonb_build_object(
             'vaccine', CASE WHEN r1 < 0.5 THEN 'astrazeneca' ELSE 'pfizer' END,
             'dose', CASE WHEN r2 < 0.6 THEN '1' ELSE '2' END,
             'vaccination_date', to_char(at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD'))
       END,
       md5(g::text), 'accepted', '', 'api', at,
       communes.ids[1 + floor(r3 * array_length(communes.ids, 1))::int],
       forms.form_id, forms.version_id, false, false, true
FROM rows JOIN forms ON forms.n = rows.n CROSS JOIN communes
"""


def submissions_insert(forms: dict, *, count: int, days: int, seed: int) -> float:
    from django.db import connection

    kinds = ["checkpoint", "health_declaration", "testing", "vaccination"]
    params = {
        "ns": list(range(4)),
        "forms": [forms[kind].pk for kind in kinds],
        "versions": [forms[kind].current_version.pk for kind in kinds],
        "days": days,
        "count": count,
        "origins": ORIGINS,
        "n_origins": len(ORIGINS),
    }
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        cursor.execute(SUBMISSIONS_SQL, params)
        cursor.execute("ANALYZE forms_engine_submission")
    return time.perf_counter() - started


NAIVE_SQL = """
SELECT (s.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date >= %(start)s AS in_range,
       CASE WHEN (s.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date >= %(start)s
            THEN (s.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date END AS day,
       f.kind, s.data->>'direction', s.data->>'origin', s.data->>'test_type', s.data->>'result',
       s.data->>'vaccine', s.data->>'dose', a.path, count(*)
FROM forms_engine_submission s
JOIN forms_engine_formpage f ON f.page_ptr_id = s.form_id
JOIN places_area a ON a.id = s.area_id
WHERE s.status = 'accepted' AND a.path LIKE %(path)s
  AND s.created_at < (%(end)s::date + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
"""


def naive_dashboard(area, start, end) -> int:
    """The dashboard's numbers straight from the submissions: the range's days by metric and
    key, the totals to the range's end, and the children's split (by area path)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(NAIVE_SQL, {"start": start, "end": end, "path": f"{area.path}%"})
        return len(cursor.fetchall())


def timed(function, repeat: int) -> list[float]:
    function()  # warm
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def dashboard_timings(areas, requests: int) -> list[float]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    admin = get_user_model().objects.filter(username="bench").first()
    admin = admin or get_user_model().objects.create_superuser("bench", "bench@example.invalid", "x")
    client = Client()
    client.force_login(admin)
    timings = []
    per_area = max(1, requests // len(areas))
    for area in areas:

        def get(code=area.code):
            response = client.get("/api/v1/dashboard", {"area": code})
            assert response.status_code == 200, response.content

        timings += timed(get, per_area)
    return timings


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--submissions", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--naive-requests", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="Time the reads on a kept database.")
    args = parser.parse_args()
    args.keep = args.keep or args.reuse

    maintenance_url, database_url = database_urls(
        os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL, DB_NAME
    )
    os.environ.update(
        DATABASE_URL=database_url, LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="website.settings.test"
    )
    os.environ.pop("REDIS_URL", None)  # in-process channel layer and sequence numbers
    if not args.reuse:
        recreate_database(maintenance_url, DB_NAME)
    try:
        setup_django()
        figures = run(args)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            recreate_database(maintenance_url, DB_NAME, drop_only=True)
    table = [
        ("submissions", f"{args.submissions:,}"),
        ("insert (s)", f"{figures['insert_seconds']:.1f}"),
        ("rebuild_aggregates (s)", f"{figures['rebuild_seconds']:.1f} ({figures['counter_rows']:,} rows)"),
        ("dashboard API p50 / p95 (ms)", f"{figures['api_ms']['p50']} / {figures['api_ms']['p95']}"),
        (
            "the same, answers kept per area, range and live seq (ms)",
            f"{figures['api_cached_ms']['p50']} / {figures['api_cached_ms']['p95']}",
        ),
        (
            "naive GROUP BY p50 (ms), province / district",
            f"{figures['naive_ms']['province']['p50']} / {figures['naive_ms']['district']['p50']}",
        ),
        ("naive / API at p50, province", f"{figures['ratio_province']}×"),
        ("targets", f"API p95 < {TARGETS['p95_ms']} ms, ≥ {TARGETS['ratio']}×"),
    ]
    for row in table:
        print(" | ".join(row))
    if not args.no_save:
        save("live_dashboard", figures, table)


def run(args) -> dict:
    from django.core.management import call_command
    from django.utils import timezone

    from places.models import Area
    from reports.models import DailyCount

    call_command("migrate", verbosity=0)
    built = build_figures(args) if args.reuse else build(args)
    province = Area.objects.get(code="56")
    districts = list(province.get_children())
    rng = random.Random(args.seed)  # noqa: S311 - a sample of communes, not a secret
    communes = rng.sample(list(Area.objects.filter(depth=3)), 10)
    api = dashboard_timings([province, *districts, *communes], args.requests)
    end = timezone.localdate()
    start = end - timedelta(days=29)
    naive = {
        "province": summary(timed(lambda: naive_dashboard(province, start, end), args.naive_requests)),
        "district": summary(timed(lambda: naive_dashboard(districts[0], start, end), args.naive_requests)),
    }
    province_api = summary(dashboard_timings([province], max(10, args.requests // 10)))
    # The same reads with the answers kept per (area, range, live seq): what leaders watching
    # an area between two changes get (the reads above are each change's first).
    from django.conf import settings

    settings.DASHBOARD_CACHE_SECONDS = 30
    cached = summary(dashboard_timings([province, *districts, *communes], args.requests))
    settings.DASHBOARD_CACHE_SECONDS = 0
    return {
        "database": "PostgreSQL",
        "submissions": args.submissions,
        "days": args.days,
        **built,
        "counter_rows": DailyCount.objects.count(),
        "api_ms": summary(api),
        "api_province_ms": province_api,
        "api_cached_ms": cached,
        "naive_ms": naive,
        "ratio_province": round(naive["province"]["p50"] / province_api["p50"], 1),
        "targets": TARGETS,
    }


def build(args) -> dict:
    """Steps 1 to 3; their figures are kept in the database for a later ``--reuse``."""
    import json

    from django.db import connection

    from reports.rebuild import rebuild

    forms = province_load()
    insert_seconds = submissions_insert(forms, count=args.submissions, days=args.days, seed=args.seed)
    started = time.perf_counter()
    rebuild()
    figures = {
        "insert_seconds": round(insert_seconds, 1),
        "rebuild_seconds": round(time.perf_counter() - started, 1),
        "built": timezone_now_iso(),
    }
    with connection.cursor() as cursor:
        # What autovacuum does after the rebuild's rewrite: statistics, and the visibility map
        # that index-only reads of the counters rely on.
        cursor.execute("VACUUM (ANALYZE) reports_dailycount")
        cursor.execute("CREATE TABLE bench_build (submissions bigint, figures jsonb)")
        cursor.execute("INSERT INTO bench_build VALUES (%s, %s)", [args.submissions, json.dumps(figures)])
    return figures


def build_figures(args) -> dict:
    import json

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT submissions, figures FROM bench_build")
        submissions, figures = cursor.fetchone()
    if submissions != args.submissions:
        sys.exit(f"--reuse: the kept database holds {submissions:,} submissions, not {args.submissions:,}")
    return figures if isinstance(figures, dict) else json.loads(figures)


def timezone_now_iso() -> str:
    from django.utils import timezone

    return timezone.now().isoformat(timespec="seconds")


if __name__ == "__main__":
    main()
