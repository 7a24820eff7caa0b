"""Live events over WebSocket: publish-to-receive latency and messages lost.

    .venv/bin/python bench/live/ws.py                                  # 500 clients, 50 events/s, 30 s
    .venv/bin/python bench/live/ws.py --clients 40 --duration 5 --no-save   # smoke run

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth) or ``DATABASE_URL`` naming a
server, and Redis (``BENCH_REDIS_URL``, else redis://127.0.0.1:6379/14; the bench empties
that database). Each run:

1. drops and recreates the database ``outbreak_bench_live_ws``, migrates with
   ``bench.settings`` (production settings), and makes a province of ``--groups`` districts
   of two communes each, one leader per district (scope: their district) and a logged-in
   session for each;
2. starts ``uvicorn website.asgi:application --workers 2`` on a free port, on that Redis
   (channels_redis with the product's settings: website/settings/environment.py);
3. starts the load process (``ws_load.py``, its own OS process): ``--clients`` WebSocket
   clients spread evenly over the districts, each on ``/ws/live/`` with its leader's session;
   it checks each hello names the client's district;
4. publishes from this process through ``realtime.publish`` (as a job's on_commit does: the
   area chain from the database, the seqs from Redis, one group_send per area) ``--rate``
   events a second for ``--duration`` s, in an open loop, round robin over the communes: each
   event reaches the province's, its district's and its commune's groups; the district
   copy is what the clients receive (``--rate`` / ``--groups`` events a second each);
5. after a 3 s drain, hands the load process the seqs taken for each district; it reports
   latency percentiles (publish call to arrival), messages lost (an expected seq a client
   never received), duplicates, and any copy for another area (must be 0);
6. saves bench/results/live_ws.json and its section of docs/benchmarks.md (not with
   ``--no-save``), stops uvicorn and drops the database (``--keep`` keeps it).

Targets (issue 6): p95 under 300 ms, zero lost.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common import ROOT, database_urls, recreate_database, save, setup_django  # noqa: E402
from ingest.run import (  # noqa: E402
    cpu_snapshot,
    cpu_used,
    free_port,
    http,
    machine_busy_cores,
    start_server,
    stop_server,
    worker_pids,
)

DB_NAME = "outbreak_bench_live_ws"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
TARGETS = {"p95_ms": 300, "lost": 0}
DRAIN_SECONDS = 3


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--groups", type=int, default=10, help="districts the clients are spread over")
    parser.add_argument("--rate", type=float, default=50, help="events published a second")
    parser.add_argument("--duration", type=float, default=30, help="seconds of publishing")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--no-save", action="store_true", help="print only (smoke runs)")
    return parser.parse_args()


def environment() -> dict:
    maintenance, url = database_urls(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL, DB_NAME)
    redis_url = os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": str(ROOT),
    }
    return {"env": env, "maintenance": maintenance}


# --- set-up inside Django ---------------------------------------------------------------------


def prepare(groups: int) -> dict:
    """The province, its districts and communes, and a session per district leader."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    province, districts = areas_create(groups)
    return {
        "province": province.code,
        "districts": [district.code for district in districts],
        "communes": {
            commune.code: district.code for district in districts for commune in district.get_children()
        },
        "sessions": {district.code: leader_session(district) for district in districts},
    }


def areas_create(groups: int):
    from places.models import Area

    province = Area.add_root(code="90", name="Tỉnh Thử Nghiệm", level_label="Tỉnh")
    districts = []
    for number in range(groups):
        district = province.add_child(code=f"9{number:02d}", name=f"Huyện {number}", level_label="Huyện")
        for commune in range(2):
            district.add_child(
                code=f"9{number:02d}{commune:02d}", name=f"Xã {number}.{commune}", level_label="Xã"
            )
        districts.append(Area.objects.get(pk=district.pk))
    return province, districts


def leader_session(district) -> str:
    from django.conf import settings
    from django.test import Client

    from places.models import GroupRole
    from places.roles import roles_ensure

    user = leader_create(district, roles_ensure()[GroupRole.ROLE_LEADER])
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def leader_create(district, group):
    from django.contrib.auth import get_user_model

    from places.models import UserArea

    user = get_user_model().objects.create_user(username=f"lanhdao.{district.code}", password=None)
    user.groups.add(group)
    UserArea.objects.create(user=user, area=district)
    return user


# --- the run ----------------------------------------------------------------------------------


def wait_until_serving(server, base: str, log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"uvicorn exited:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            status = http("GET", f"{base}/api/v1/openapi.json")[0]
        except OSError:
            status = None
        if status == 200 and len(worker_pids(server.pid)) == 2:
            return
        time.sleep(0.3)
    raise SystemExit(f"uvicorn did not answer in 90 s:\n{log_path.read_text(errors='replace')[-3000:]}")


def load_start(prepared: dict, args, port: int, workdir: Path) -> subprocess.Popen:
    from django.conf import settings

    districts = prepared["districts"]
    clients = [
        {
            "area": districts[n % len(districts)],
            "session": prepared["sessions"][districts[n % len(districts)]],
        }
        for n in range(args.clients)
    ]
    config = {
        "url": f"ws://127.0.0.1:{port}/ws/live/",
        "origin": f"http://127.0.0.1:{port}",
        "cookie_name": settings.SESSION_COOKIE_NAME,
        "clients": clients,
    }
    path = workdir / "load.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    command = [sys.executable, str(HERE / "ws_load.py"), str(path)]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def publish_steadily(prepared: dict, rate: float, duration: float) -> dict:
    """Open loop: event n is due at start + n/rate, whatever the earlier calls took."""
    from realtime import publish

    communes = list(prepared["communes"])
    expected = {district: [] for district in prepared["districts"]}
    call_seconds, behind = [], 0
    start = time.monotonic()
    for n in range(int(rate * duration)):
        due = start + n / rate
        if (wait := due - time.monotonic()) > 0:
            time.sleep(wait)
        else:
            behind += 1
        commune = communes[n % len(communes)]
        began = time.perf_counter()
        seqs = publish(commune, {"type": "bench.tick", "n": n, "sent_at": time.time()})
        call_seconds.append(time.perf_counter() - began)
        district = prepared["communes"][commune]
        if district in seqs:
            expected[district].append(seqs[district])
    call_seconds.sort()
    return {
        "expected": expected,
        "published": len(call_seconds),
        "late_starts": behind,
        "publish_call_ms": {
            "p50": round(1000 * call_seconds[len(call_seconds) // 2], 2),
            "p95": round(1000 * call_seconds[int(0.95 * len(call_seconds))], 2),
        },
        "seconds": round(time.monotonic() - start, 2),
    }


def measure(prepared: dict, args, port: int, server, workdir: Path) -> dict:
    load = load_start(prepared, args, port, workdir)
    ready = json.loads(load.stdout.readline())
    if not ready.get("ready") or ready["failed"]:
        load.kill()
        raise SystemExit(f"clients failed to open: {ready}")
    workers = worker_pids(server.pid)
    before = cpu_snapshot(workers)
    published = publish_steadily(prepared, args.rate, args.duration)
    time.sleep(DRAIN_SECONDS)
    cpu = cpu_used(before, cpu_snapshot(workers), published["seconds"] + DRAIN_SECONDS)
    out, _ = load.communicate(json.dumps({"expected": published["expected"]}) + "\n", timeout=120)
    received = json.loads(out.strip().splitlines()[-1])
    published.pop("expected")
    return {**received, "publisher": published, "cpu": cpu}


def figures_and_table(result: dict, args, busy_before: float) -> tuple[dict, list]:
    latency = result["latency_ms"]
    figures = {
        "database": "postgresql",
        "clients": args.clients,
        "groups": args.groups,
        "rate_per_s": args.rate,
        "duration_s": args.duration,
        "machine_busy_cores_before": busy_before,
        "targets": TARGETS,
        "met": {
            "p95": latency["p95"] is not None and latency["p95"] < TARGETS["p95_ms"],
            "lost": result["messages_lost"] == TARGETS["lost"],
        },
        **result,
    }
    table = [
        ("clients / district groups", f"{args.clients} / {args.groups} (one uvicorn, 2 workers)"),
        (
            "events published",
            f"{result['publisher']['published']} at {args.rate:g}/s for {args.duration:g} s",
        ),
        ("messages expected / received", f"{result['messages_expected']} / {result['messages_received']}"),
        ("latency p50 / p95 / p99 (ms)", f"{latency['p50']} / {latency['p95']} / {latency['p99']}"),
        ("messages lost (target 0)", str(result["messages_lost"])),
        ("copies for another district (must be 0)", str(result["foreign_area_messages"])),
        ("publish() call p50 / p95 (ms)", "{p50} / {p95}".format(**result["publisher"]["publish_call_ms"])),
        ("uvicorn workers CPU (cores)", str(result["cpu"]["uvicorn_workers_cores"])),
    ]
    return figures, table


def main():
    args = arguments()
    setting = environment()
    os.environ.update(
        {key: setting["env"][key] for key in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    )
    recreate_database(setting["maintenance"], DB_NAME)
    from redis import Redis

    Redis.from_url(setting["env"]["REDIS_URL"]).flushdb()
    setup_django()
    prepared = prepare(args.groups)
    busy_before = machine_busy_cores()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        log_path = workdir / "uvicorn.log"
        server = start_server(port, setting["env"], log_path)
        try:
            wait_until_serving(server, f"http://127.0.0.1:{port}", log_path)
            result = measure(prepared, args, port, server, workdir)
        finally:
            stop_server(server)
    from django.db import connections

    connections.close_all()
    if not args.keep:
        recreate_database(setting["maintenance"], DB_NAME, drop_only=True)
    figures, table = figures_and_table(result, args, busy_before)
    if args.no_save:
        print(json.dumps(figures, indent=2))
    else:
        save("live_ws", figures, table)


if __name__ == "__main__":
    main()
