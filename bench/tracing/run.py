"""Tracing on a province-sized graph: expanding a new F0 to F2, against a naive ORM BFS; jobs/s
with two workers; a worker's peak memory.

    .venv/bin/python bench/tracing/run.py                         # the full run, about 10 minutes
    .venv/bin/python bench/tracing/run.py --people 20000 --edges 100000 --no-save   # seconds

Needs PostgreSQL (``DATABASE_URL`` names the server, else postgres@127.0.0.1:5432) and Redis
(``BENCH_REDIS_URL``, else redis://127.0.0.1:6379/12; the bench empties that database). Each run:

1. drops and recreates the database ``od_bench_tracing``, migrates it, and loads the demo
   province's areas, villages, places and quarantine rules (Khánh Hòa: website/demo/; F1 in a
   facility, F2 at home);
2. loads the synthetic graph (bench/tracing/graph.py: ``--people`` persons in households of
   3-5 over the province's villages and communes, ``--edges`` contact edges: households,
   workshops of 50-200 in and out of the industrial parks, venues, transport) with COPY, the
   tables' secondary indexes and constraints dropped and rebuilt around it, then ANALYZE;
3. expansion: ``--cases`` random persons (seeded); for each, in a transaction rolled back so
   that every case and both sides start from the same graph, the person is made F0 and
   ``tracing.classify.case_expand(case, depth=2)`` timed (the walk, the levels, and its
   follow-ups: quarantine orders by rule, a test for each new F1, timed apart too); then the
   baseline on the same case: the same job done the naive way, a per-person ORM BFS and
   per-person orders and tests (bench/tracing/expand.py), on the first ``--naive-cases`` (all
   by default). Both must classify the same persons; each side's walk-and-levels part is
   reported apart from its follow-ups too. Wall time per case, and the CPU time of the bench process and
   its PostgreSQL backend (which other programs on the cores disturb less);
4. jobs: ``--jobs`` other persons confirmed F0 (``classify.case_confirm``, which records the
   ``case.confirmed`` outbox event), two ``manage.py rqworker tracing --worker-class
   workflows.worker.DjangoSimpleWorker`` processes started and registered, then the events
   relayed (``workflows.outbox.relay_pending``, ``--relay-batch`` events per job: 1, as the
   scheduler relays a trickle) and timed until every event is done (``Event.done_at``: both
   handlers, case_expand and case_colocate, ran); each worker's peak RSS is its VmHWM;
5. prints the table, saves bench/results/tracing.json and its section of docs/benchmarks.md,
   and drops the database (``--keep`` keeps it; ``--reuse`` runs again on a kept graph).
"""

import argparse
import io
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common import ROOT, database_urls, recreate_database, save, setup_django  # noqa: E402
from ingest.run import (  # noqa: E402 - bench/ingest/run.py: database defaults, CPU accounting
    DEFAULT_DATABASE_URL,
    QUIET_CORES,
    cpu_model,
    machine_busy_cores,
    process_cpu,
)
from pipeline.run import start_process, stop_process  # noqa: E402

DB_NAME = "od_bench_tracing"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
SETTINGS = "bench.settings"
WORKER_CLASS = "workflows.worker.DjangoSimpleWorker"  # the Procfile's
TARGETS = {"p95_ms": 100, "ratio": 20, "worker_peak_mb": 300}
DEMO_PROVINCE = "56"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict:
    return {
        "p50": round(statistics.median(values), 2),
        "p95": round(percentile(values, 0.95), 2),
        "max": round(max(values), 2),
        "mean": round(statistics.fmean(values), 2),
    }


# --- set-up ----------------------------------------------------------------------------------


def demo_areas_load() -> dict:
    """The demo province's areas, villages, places and quarantine rules, as load_demo loads them
    (no users, forms or pages: nothing the expansion reads)."""
    from places.loaders import load_areas_file, load_villages_csv, package_data_path
    from website.demo.load import DEMO_DIR, demo_places_load

    load_areas_file(package_data_path(), province=DEMO_PROVINCE)
    load_villages_csv(DEMO_DIR / "villages.csv")
    loaded = {"places": demo_places_load()}
    try:  # the province's quarantine rules (F1 facility, F2 home), where the demo has them
        from website.demo.tracing_rules import demo_tracing_rules_load
    except ImportError:
        loaded["rules"] = "none"
    else:
        loaded["rules"] = demo_tracing_rules_load()
    return loaded


def home_areas() -> list[int]:
    """Where people live: the province's leaf areas (villages where the demo has them, else communes)."""
    from places.models import Area

    province = Area.objects.get(code=DEMO_PROVINCE)
    return list(
        Area.objects.filter(path__startswith=province.path, numchild=0)
        .order_by("path")
        .values_list("pk", flat=True)
    )


def park_places() -> list[int]:
    from places.models import Place

    return list(
        Place.objects.filter(kind=Place.KIND_INDUSTRIAL_PARK).order_by("code").values_list("pk", flat=True)
    )


def graph_load_timed(args) -> dict:
    from django.db import connection, transaction

    from bench.tracing.graph import graph_load

    start = time.perf_counter()
    with transaction.atomic():
        loaded = graph_load(
            connection,
            people=args.people,
            edges=args.edges,
            area_ids=home_areas(),
            park_ids=park_places(),
            seed=args.seed,
        )
    loaded["total_s"] = round(time.perf_counter() - start, 2)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_total_relation_size('tracing_person'), pg_total_relation_size('tracing_contact')"
        )
        persons_bytes, contacts_bytes = cursor.fetchone()
    loaded["persons_mb"] = round(persons_bytes / 2**20)
    loaded["contacts_mb"] = round(contacts_bytes / 2**20)
    return loaded


def graph_reused() -> dict:
    """The graph a ``--keep`` run left, as it was loaded: every level and what the jobs made undone."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE tracing_classification, tracing_quarantineorder, tracing_testrequest, "
            "tracing_alert, workflows_event CASCADE"
        )
        cursor.execute("UPDATE tracing_person SET level = '', level_at = NULL WHERE level <> ''")
        cursor.execute("SELECT min(id), max(id), count(*) FROM tracing_person")
        first, last, people = cursor.fetchone()
        cursor.execute("SELECT setting, count(*) FROM tracing_contact GROUP BY setting ORDER BY 1")
        by_setting = dict(cursor.fetchall())
    timings = dict.fromkeys(("generate_s", "copy_persons_s", "copy_contacts_s"), "reused")
    return {
        "people": people,
        "edges": sum(by_setting.values()),
        "edges_by_setting": by_setting,
        "first_id": first,
        "last_id": last,
        "timings": timings,
        "total_s": "reused",
        "persons_mb": 0,
        "contacts_mb": 0,
    }


# --- expansion -------------------------------------------------------------------------------


class Rollback(Exception):
    pass


def in_rolled_back_transaction(function):
    """``function()``'s result and seconds, its writes undone."""
    from django.db import transaction

    outcome = {}
    try:
        with transaction.atomic():
            outcome["result"], outcome["seconds"] = function()
            raise Rollback
    except Rollback:
        pass
    return outcome["result"], outcome["seconds"]


def expansion_run(case_id: int, *, depth: int, side: str, count_queries: bool = False):
    """(result, {"total": s, "follow_ups": s, "cpu": s}) of one case on one side, rolled back.

    ``cpu`` is the CPU time of the bench process and of its PostgreSQL backend: what the
    expansion costs, less sensitive than the wall time to other programs sharing the cores.
    With ``count_queries``, ``queries`` is how many statements the expansion sent (making the
    case F0 beforehand is not counted).
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.tracing.expand import (
        case_make_f0,
        expand_fast,
        follow_ups_timed,
        naive_case_expand,
        naive_follow_ups_open,
    )

    def expand(follow_ups: list[float]):
        if side == "fast":
            with follow_ups_timed(follow_ups):
                return expand_fast(case_id, depth=depth)
        result = naive_case_expand(case_id, depth=depth, job="bench")
        middle = time.perf_counter()
        naive_follow_ups_open(result, case_id=case_id)
        follow_ups.append(time.perf_counter() - middle)
        return result

    def run():
        case_make_f0(case_id)
        follow_ups: list[float] = []
        backend = connection.connection.info.backend_pid
        cpu_start, backend_start = time.process_time(), process_cpu(backend)
        start = time.perf_counter()
        if count_queries:
            with CaptureQueriesContext(connection) as captured:
                result = expand(follow_ups)
        else:
            result = expand(follow_ups)
        seconds = {"total": time.perf_counter() - start, "follow_ups": sum(follow_ups)}
        seconds["cpu"] = time.process_time() - cpu_start + process_cpu(backend) - backend_start
        if count_queries:
            seconds["queries"] = len(captured.captured_queries)
        return result or {}, seconds

    return in_rolled_back_transaction(run)


def queries_of(case_id: int, *, depth: int, side: str) -> int:
    return expansion_run(case_id, depth=depth, side=side, count_queries=True)[1]["queries"]


def expansions_measure(args, loaded: dict) -> dict:
    """Each case on the fast side, then (the first ``--naive-cases``) on the baseline."""
    rng = random.Random(args.seed + 1)  # noqa: S311 - reproducible picks
    picked = rng.sample(range(loaded["first_id"], loaded["last_id"] + 1), args.cases + 2)
    warmup, cases = picked[:2], picked[2:]
    for case_id in warmup:  # a connection's first queries, plans, caches
        for side in ("fast", "naive"):
            expansion_run(case_id, depth=args.depth, side=side)
    naive_cases = set(cases[: args.naive_cases or len(cases)])
    times = {
        side: {"total": [], "follow_ups": [], "cpu": []} for side in ("fast", "naive", "fast_on_naive_cases")
    }
    reached, mismatches = {}, []
    started = time.monotonic()
    for index, case_id in enumerate(cases):
        if index % VACUUM_EVERY == 0:
            written_tables_vacuum()
        # The side that runs second finds the case's pages in PostgreSQL's buffers: each side
        # goes first on every other case.
        order = ("fast", "naive") if index % 2 == 0 else ("naive", "fast")
        results = {}
        for side in order:
            if side == "naive" and case_id not in naive_cases:
                continue
            results[side], seconds = expansion_run(case_id, depth=args.depth, side=side)
            measured = (
                ["fast", "fast_on_naive_cases"] if side == "fast" and case_id in naive_cases else [side]
            )
            for name in measured:
                for part, value in seconds.items():
                    times[name][part].append(value * 1000)
        for level, ids in results["fast"].items():
            reached.setdefault(level, []).append(len(ids))
        if "naive" in results and normalised(results["naive"]) != normalised(results["fast"]):
            mismatches.append(case_id)
        if (index + 1) % 50 == 0:
            print(f"  {index + 1} cases, {time.monotonic() - started:.0f} s", flush=True)
    parts = {side: side_summary(values) for side, values in times.items()}
    levels = [f"F{d}" for d in range(1, args.depth + 1)]
    fast, naive = parts["fast_on_naive_cases"], parts["naive"]
    return {
        "cases": len(cases),
        "naive_cases": len(naive_cases),
        "depth": args.depth,
        "ms": parts,
        "ratio_p50": round(naive["total"]["p50"] / fast["total"]["p50"], 1),
        "ratio_p95": round(naive["total"]["p95"] / fast["total"]["p95"], 1),
        "ratio_classify_p50": round(naive["classify"]["p50"] / fast["classify"]["p50"], 1),
        "ratio_classify_p95": round(naive["classify"]["p95"] / fast["classify"]["p95"], 1),
        "ratio_cpu_mean": round(naive["cpu_mean"] / fast["cpu_mean"], 1),
        "reached_mean": {lvl: round(sum(reached.get(lvl, [])) / len(cases), 1) for lvl in levels},
        "reached_max": {lvl: max(reached.get(lvl, [0])) for lvl in levels},
        "mismatches": mismatches,
        "queries_first_case": {
            "fast": queries_of(cases[0], depth=args.depth, side="fast"),
            "naive": queries_of(cases[0], depth=args.depth, side="naive"),
        },
    }


# Each case's writes are rolled back, which leaves their rows dead in the tables and indexes
# until a VACUUM, and the planner's statistics behind: autovacuum's work in production (where
# it is on; this machine's PostgreSQL has it off), done here every few cases
# and untimed, so that the cases do not wade through those of the cases before.
VACUUM_EVERY = 10
WRITTEN_TABLES = (
    "tracing_person",
    "tracing_classification",
    "tracing_quarantineorder",
    "tracing_testrequest",
    "workflows_event",
)


def written_tables_vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(WRITTEN_TABLES)}")


def side_summary(values: dict) -> dict:
    """Percentiles of the whole expansion, its follow-ups (orders, tests) and the rest (the walk
    and the classification), each over the cases; the mean CPU time of a case."""
    classify = [total - follow for total, follow in zip(values["total"], values["follow_ups"], strict=True)]
    return {
        "total": summary(values["total"]),
        "classify": summary(classify),
        "follow_ups": summary(values["follow_ups"]),
        "cpu_mean": round(statistics.fmean(values["cpu"]), 2),
    }


def normalised(result: dict) -> dict:
    return {level: sorted(ids) for level, ids in (result or {}).items() if ids}


# --- jobs with two workers ---------------------------------------------------------------------


def confirmed_events_record(person_ids: list[int]) -> list[int]:
    """Each person confirmed F0 with its ``case.confirmed`` event (classify.case_confirm), a
    transaction each, as accepted positive results would; the events' ids."""
    from django.db import transaction

    from tracing import classify
    from tracing.models import Person
    from workflows.models import Event

    before = Event.objects.filter(kind=classify.CASE_CONFIRMED).values_list("pk", flat=True)
    before = set(before)
    for person in Person.objects.filter(pk__in=person_ids).order_by("pk"):
        with transaction.atomic():
            classify.case_confirm(person, job="bench")
    after = set(Event.objects.filter(kind=classify.CASE_CONFIRMED).values_list("pk", flat=True))
    return sorted(after - before)


def proc_status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def jobs_measure(args, loaded: dict, env: dict, workdir: Path) -> dict:
    from django.db.models import Max
    from redis import Redis
    from rq import Worker
    from rq.registry import FailedJobRegistry

    from tracing.models import Classification
    from workflows.models import Event, EventHandled
    from workflows.outbox import relay_pending
    from workflows.queues import get_queue

    rng = random.Random(args.seed + 2)  # noqa: S311 - reproducible picks
    person_ids = rng.sample(range(loaded["first_id"], loaded["last_id"] + 1), args.jobs)
    event_ids = confirmed_events_record(person_ids)
    classified_before = Classification.objects.count()
    redis = Redis.from_url(env["REDIS_URL"])
    redis.flushdb()  # the bench's own database: nothing from an earlier run
    workers = []
    try:
        for index in range(2):
            name = f"bench-tracing-{secrets.token_hex(3)}-{index}"
            command = [
                sys.executable,
                "manage.py",
                "rqworker",
                "tracing",
                "--worker-class",
                args.worker_class,
            ]
            workers.append(start_process(f"worker-{index}", [*command, "--name", name], env, workdir))
        deadline = time.monotonic() + 60
        while Worker.count(connection=redis) < 2:
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                raise SystemExit(f"RQ workers did not start:\n{log_tail(workdir, 'worker-0')}")
            time.sleep(0.2)
        idle_rss = [proc_status_kb(w.pid, "VmRSS") for w in workers]
        cpu_before = [process_cpu(w.pid) for w in workers]
        started_wall = time.time()
        start = time.monotonic()
        relayed = relay_pending(batch=args.relay_batch)
        relay_s = time.monotonic() - start
        pending = Event.objects.filter(pk__in=event_ids, done_at=None)
        while pending.exists() and time.monotonic() - start < args.jobs_timeout:
            time.sleep(0.05)
        waited = time.monotonic() - start
        done = Event.objects.filter(pk__in=event_ids).exclude(done_at=None)
        last_done = done.aggregate(last=Max("done_at"))["last"]
        elapsed = last_done.timestamp() - started_wall if last_done else waited
        cpu = [round(process_cpu(w.pid) - before, 2) for w, before in zip(workers, cpu_before, strict=True)]
        peak = [proc_status_kb(w.pid, "VmHWM") for w in workers]
        failed = FailedJobRegistry(queue=get_queue("tracing")).count
    finally:
        for worker in workers:
            stop_process(worker)
    events_done = done.count()
    handled = EventHandled.objects.filter(event_id__in=event_ids).count()
    return {
        "events": len(event_ids),
        "events_done": events_done,
        "relayed": relayed,
        "relay_batch": args.relay_batch,
        "jobs": handled,
        "relay_s": round(relay_s, 2),
        "elapsed_s": round(elapsed, 2),
        "events_per_s": round(events_done / elapsed, 1) if elapsed else None,
        "jobs_per_s": round(handled / elapsed, 1) if elapsed else None,
        "worker_cpu_s": cpu,
        "worker_cpu_ms_per_event": round(sum(cpu) * 1000 / max(events_done, 1), 1),
        "worker_idle_rss_mb": [round(kb / 1024, 1) for kb in idle_rss],
        "worker_peak_rss_mb": [round(kb / 1024, 1) for kb in peak],
        "failed_jobs": failed,
        "classified": Classification.objects.count() - classified_before,
        "worker_exceptions": [line for i in range(2) for line in exceptions_in(workdir, f"worker-{i}")],
    }


def log_tail(workdir: Path, name: str) -> str:
    path = workdir / f"{name}.log"
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def exceptions_in(workdir: Path, name: str) -> list[str]:
    path = workdir / f"{name}.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return sorted(
        {line.strip()[:200] for line in text.splitlines() if "Error" in line or "Traceback" in line}
    )[:5]


# --- report ------------------------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def report(args, figures: dict) -> list[tuple[str, str]]:
    loaded, exp, jobs = figures["graph"], figures["expansion"], figures["jobs"]
    t = loaded["timings"]
    fast, naive = exp["ms"]["fast"], exp["ms"]["naive"]
    side = "tracing.classify.case_expand"
    naive_note = "" if exp["naive_cases"] == exp["cases"] else f", first {exp['naive_cases']} cases"
    peak = max(jobs["worker_peak_rss_mb"]) if jobs["worker_peak_rss_mb"] else 0
    by_setting = ", ".join(f"{k} {v:,}" for k, v in loaded["edges_by_setting"].items())
    reached = exp["reached_mean"]
    busy = figures["busy_cores_before"]

    def ms(part: dict) -> str:
        return f"{part['p50']} / {part['p95']} / {part['max']}"

    return [
        ("graph", f"{loaded['people']:,} persons, {loaded['edges']:,} contact edges ({by_setting})"),
        (
            "tables with their indexes: persons / contacts (MB)",
            f"{loaded['persons_mb']:,} / {loaded['contacts_mb']:,}",
        ),
        (
            "load (s): generate in Python / COPY persons / their indexes / COPY contacts / their indexes "
            "/ ANALYZE / total",
            " / ".join(
                str(t.get(key, "-"))
                for key in (
                    "generate_s",
                    "copy_persons_s",
                    "tracing_person_indexes_s",
                    "copy_contacts_s",
                    "tracing_contact_indexes_s",
                    "analyze_s",
                )
            )
            + f" / {loaded['total_s']}",
        ),
        (
            f"expand a new F0 to F{exp['depth']} ({side}: walk, levels, quarantine orders, F1 tests), "
            "p50 / p95 / max (ms)",
            f"{ms(fast['total'])} ({exp['cases']} cases; "
            f"{exp['queries_first_case']['fast']} queries on the first)",
        ),
        (
            "  of which walk and classification / orders and tests (p50 / p95 / max)",
            f"{ms(fast['classify'])}; {ms(fast['follow_ups'])}",
        ),
        (
            "baseline: naive per-person ORM BFS, then orders and tests one by one, p50 / p95 / max (ms)",
            f"{ms(naive['total'])} ({exp['naive_cases']} cases{naive_note}; "
            f"{exp['queries_first_case']['naive']} queries on the first)",
        ),
        (
            "  of which BFS and per-person saves / orders and tests",
            f"{ms(naive['classify'])}; {ms(naive['follow_ups'])}",
        ),
        ("ratio naive ÷ fast, whole expansion, p50 / p95", f"{exp['ratio_p50']}× / {exp['ratio_p95']}×"),
        (
            "ratio naive ÷ fast, walk and classification only, p50 / p95",
            f"{exp['ratio_classify_p50']}× / {exp['ratio_classify_p95']}×",
        ),
        (
            "CPU per case, bench process + its PostgreSQL backend, mean (ms): fast / naive (ratio)",
            f"{fast['cpu_mean']} / {naive['cpu_mean']} ({exp['ratio_cpu_mean']}×)",
        ),
        (
            "persons newly classified per case, mean (max)",
            ", ".join(f"{lvl} {reached[lvl]} ({exp['reached_max'][lvl]})" for lvl in reached),
        ),
        (
            "same persons classified by both sides",
            "yes" if not exp["mismatches"] else f"no: {exp['mismatches'][:5]}",
        ),
        (
            f"jobs: {jobs['events']} case.confirmed events, 2 × rqworker tracing "
            f"({args.worker_class.rsplit('.', 1)[-1]}), {jobs['relay_batch']} event a job",
            f"{jobs['events_per_s']} events/s = {jobs['jobs_per_s']} jobs/s ({jobs['jobs']} handler runs in "
            f"{jobs['elapsed_s']} s); {jobs['events_done']} done, failed jobs {jobs['failed_jobs']}",
        ),
        (
            "worker CPU per event (ms); persons classified by the jobs",
            f"{jobs['worker_cpu_ms_per_event']}; {jobs['classified']:,}",
        ),
        (
            "each worker's RSS idle → peak (VmHWM, MB)",
            ", ".join(
                f"{i} → {p}"
                for i, p in zip(jobs["worker_idle_rss_mb"], jobs["worker_peak_rss_mb"], strict=True)
            ),
        ),
        ("target p95 < 100 ms per case (whole expansion)", verdict(fast["total"]["p95"] < TARGETS["p95_ms"])),
        (
            "target ≥ 20× the naive baseline, p50 (whole expansion)",
            verdict(exp["ratio_p50"] >= TARGETS["ratio"]),
        ),
        (
            "the same, walk and classification alone (for information)",
            verdict(exp["ratio_classify_p50"] >= TARGETS["ratio"]),
        ),
        ("target worker peak < 300 MB", verdict(0 < peak < TARGETS["worker_peak_mb"])),
        (
            "cores busy before each phase (others on the machine; quiet ≤ 0.2)",
            ", ".join(f"{phase} {value}" for phase, value in busy.items()),
        ),
    ]


def quiet_wait(seconds: float) -> float:
    """Cores busy on the machine (other programs), after waiting up to ``seconds`` for quiet."""
    busy, waited = machine_busy_cores(), 0.0
    while busy > QUIET_CORES and waited < seconds:
        time.sleep(3)
        waited += 5
        busy = machine_busy_cores()
    if busy > QUIET_CORES:
        print(f"  warning: {busy} cores busy before the phase: other programs share the machine", flush=True)
    return busy


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=1_200_000)
    parser.add_argument("--edges", type=int, default=6_000_000)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--cases", type=int, default=200, help="random cases expanded")
    parser.add_argument("--naive-cases", type=int, default=0, help="cases the baseline runs (0: all)")
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=200, help="case.confirmed events for the workers")
    parser.add_argument("--relay-batch", type=int, default=1, help="events per job when relaying")
    parser.add_argument("--jobs-timeout", type=float, default=300)
    parser.add_argument("--worker-class", default=WORKER_CLASS)
    parser.add_argument(
        "--wait-quiet", type=float, default=0, help="wait up to S s for idle cores before each phase"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="for work on the bench: the graph a --keep run left, levels and follow-ups reset; saves nothing",
    )
    parser.add_argument("--no-save", action="store_true", help="print only: no JSON, no docs section")
    args = parser.parse_args()
    args.no_save = args.no_save or args.reuse

    run_started = time.monotonic()
    maintenance_url, database_url = database_urls(
        os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL, DB_NAME
    )
    env_overrides = {
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL,
        "BENCH_CACHE_PREFIX": f"outbreak-desk-bench-{secrets.token_hex(4)}",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env_overrides)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    workdir = Path(tempfile.mkdtemp(prefix="bench-tracing-"))
    print(
        f"database {DB_NAME}: {'reused' if args.reuse else 'recreating, migrating, loading the demo areas'} …"
    )
    if not args.reuse:
        recreate_database(maintenance_url, DB_NAME)
    try:
        setup_django()
        from django.core.management import call_command

        if args.reuse:
            demo, loaded = {}, graph_reused()
        else:
            call_command("migrate", verbosity=0, interactive=False)
            with redirect_stdout(io.StringIO()):
                demo = demo_areas_load()
            print(f"loading {args.people:,} persons and about {args.edges:,} edges with COPY …", flush=True)
            loaded = graph_load_timed(args)
            print(f"  loaded in {loaded['total_s']} s: {loaded['timings']}", flush=True)
        busy = {"expansion": quiet_wait(args.wait_quiet)}
        print(f"expanding {args.cases} cases, fast and naive …", flush=True)
        expansion = expansions_measure(args, loaded)
        print(
            f"  fast {expansion['ms']['fast']['total']}, naive {expansion['ms']['naive']['total']}",
            flush=True,
        )
        if expansion["mismatches"]:
            print(f"  warning: the sides classified differently on cases {expansion['mismatches'][:10]}")
        busy["jobs"] = quiet_wait(args.wait_quiet)
        print(f"jobs: {args.jobs} case.confirmed events, two workers …", flush=True)
        jobs = jobs_measure(args, loaded, env, workdir)
    finally:
        from django.db import connections

        connections.close_all()
        if not (args.keep or args.reuse):
            recreate_database(maintenance_url, DB_NAME, drop_only=True)
    figures = {
        "database": "postgresql",
        "demo": demo,
        "busy_cores_before": busy,
        "graph": loaded,
        "expansion": expansion,
        "jobs": jobs,
        "targets": TARGETS,
        "cpu_model": cpu_model(),
        "run_s": round(time.monotonic() - run_started),
        "args": vars(args),
    }
    table = report(args, figures)
    width = max(len(label) for label, _ in table)
    for label, value in table:
        print(f"{label:<{width}}  {value}")
    if not args.no_save:
        save("tracing", figures, table)


if __name__ == "__main__":
    main()
