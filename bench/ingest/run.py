"""Submissions ingest over HTTP: the checkpoint API against a stock Wagtail form page.

    .venv/bin/python bench/ingest/run.py                  # 16 connections, 5 s warm-up + 30 s each side
    .venv/bin/python bench/ingest/run.py --duration 20 --connections 32
    .venv/bin/python bench/ingest/run.py --py-spy /tmp/prof  # also sample a worker (pip install py-spy)

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth) or ``DATABASE_URL`` naming a
server, and Redis on 127.0.0.1:6379 (or ``REDIS_URL``; database 9 by default, with a cache
key prefix of its own per run). Each run:

1. drops and recreates the database ``outbreak_bench_ingest`` on that server, migrates with
   ``bench.settings`` (production settings plus the bench-only ``bench.stockform`` app), runs
   ``load_demo`` and issues an API token to the field-staff user ``thucdia.vinhluong``
   (Xã Vĩnh Lương, inside the province the checkpoint form covers);
2. publishes the baseline under the home page: a stock ``wagtail.contrib.forms`` page with
   as many fields as the checkpoint payload has values (20), with the same values;
3. counts SQL queries per submission in-process through Django's view (the test client,
   CaptureQueriesContext; the server itself takes the API's submissions through the ingest
   lane, forms_engine/ingest.py, which Django's test client cannot reach);
4. starts ``uvicorn website.asgi:application --workers 2`` on a free port of 127.0.0.1;
5. runs the load process (``load.py``, its own OS process) against each side in turn:
   ``--connections`` keep-alive connections in a closed loop, ``--warmup`` s then
   ``--duration`` s (60 s at most), waiting for the requests in flight at the end;
   then, for context, a Django view doing no work (the PWA manifest) for at most 10 s:
   the ceiling of anything served through Django's request path on this machine;
6. checks that the rows stored equal the successes answered (201 for the API; 200 with the
   landing page for the stock form), over warm-up and measured phase;
7. saves bench/results/ingest.json and its section of docs/benchmarks.md, stops uvicorn
   and drops the database (``--keep`` keeps the database).

The stock form's CSRF check stays on: the load process GETs the page once, as a browser
would, and sends that cookie and token with every POST, so the baseline does all of its
usual work per submission and none extra, just as the API reuses one bearer token.
"""

import argparse
import io
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from contextlib import closing, redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common import ROOT, database_urls, recreate_database, save, setup_django  # noqa: E402

DB_NAME = "outbreak_bench_ingest"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
FORM_SLUG = "khai-bao-tai-chot"
STAFF_USER = "thucdia.vinhluong"
STOCK_SLUG = "bench-stock-form"
STOCK_ACCEPTED_MARKER = "BENCH-STOCK-ACCEPTED"
TARGETS = {"accepted_per_s": 500, "p95_ms": 50, "ratio": 3.0}
QUIET_CORES = 0.2  # busier than this before a phase: another program shares the 2 cores

# One checkpoint declaration as a phone sends it: 20 values (person 6, trip and health 11,
# one companion 3). ``__SEQ__`` makes each national ID different; ``__CID__`` is the client_id.
CHECKPOINT_DATA = {
    "traveller": {
        "full_name": "Nguyễn Văn An",
        "sex": "male",
        "national_id": "079__SEQ__",
        "phone": "0905123456",
        "birth_year": 1985,
        "address": "12 Trần Phú, phường Lộc Thọ, Nha Trang",
    },
    "direction": "in",
    "checkpoint": "CK-QL1A-BAC",
    "vehicle": "o_to_ca_nhan",
    "vehicle_plate": "79A-123.45",
    "origin": "79",
    "destination": "22384-01",  # a village of Xã Vĩnh Lương, the staff user's own area
    "reason": "Về quê chăm sóc người thân",
    "travel_permit": True,
    "vaccination_status": "2_mui",
    "symptoms": ["ho"],
    "visited_outbreak_area": False,
    "companions": [{"full_name": "Trần Thị Bình", "birth_year": 1988, "phone": "0912345678"}],
}


def stock_fields() -> list[tuple[str, str, bool, str, object]]:
    """(label, Wagtail field type, required, choices, value posted): the same 20 values."""
    from website.demo.forms import PROVINCES_2021

    provinces = "\n".join(name for _code, name in PROVINCES_2021)
    checkpoints = "\n".join(
        ["CK-QL1A-BAC", "CK-QL1A-NAM", "CK-QL26", "CK-QL27C", "CK-KSON-NT", "CK-SB-CAMRANH", "CK-GA-NHATRANG"]
    )
    vehicles = "Ô tô cá nhân\nXe khách\nXe tải – luồng xanh\nXe máy\nKhác"
    symptoms = "Sốt\nHo\nKhó thở\nĐau họng\nMất vị giác/khứu giác"
    return [
        ("Họ và tên", "singleline", True, "", "Nguyễn Văn An"),
        ("Giới tính", "radio", False, "Nam\nNữ", "Nam"),
        ("Số CCCD", "singleline", True, "", "079__SEQ__"),
        ("Số điện thoại", "singleline", False, "", "0905123456"),
        ("Năm sinh", "number", False, "", "1985"),
        ("Địa chỉ", "singleline", False, "", "12 Trần Phú, phường Lộc Thọ, Nha Trang"),
        ("Chiều", "radio", True, "Vào tỉnh\nRa tỉnh", "Vào tỉnh"),
        ("Chốt kiểm soát", "dropdown", True, checkpoints, "CK-QL1A-BAC"),
        ("Phương tiện", "dropdown", True, vehicles, "Ô tô cá nhân"),
        ("Biển số xe", "singleline", False, "", "79A-123.45"),
        ("Nơi đi", "dropdown", True, provinces, "TP. Hồ Chí Minh"),
        ("Nơi đến (mã xã, thôn)", "singleline", True, "", "22384-01"),
        ("Lý do", "singleline", False, "", "Về quê chăm sóc người thân"),
        ("Có giấy đi đường", "checkbox", False, "", "on"),
        ("Tình trạng tiêm chủng", "radio", False, "Chưa tiêm\n1 mũi\n2 mũi", "2 mũi"),
        ("Triệu chứng", "checkboxes", False, symptoms, ["Ho"]),
        ("Đã đến vùng dịch trong 14 ngày qua", "checkbox", False, "", None),  # unticked
        ("Người đi cùng: họ và tên", "singleline", False, "", "Trần Thị Bình"),
        ("Người đi cùng: năm sinh", "number", False, "", "1988"),
        ("Người đi cùng: số điện thoại", "singleline", False, "", "0912345678"),
    ]


def leaf_count(value) -> int:
    if isinstance(value, dict):
        return sum(leaf_count(v) for v in value.values())
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return sum(leaf_count(v) for v in value)
    return 1


# --- database and server ----------------------------------------------------------------------


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, env: dict, log_path: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "website.asgi:application",
        "--workers",
        "2",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the server
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # uvicorn's supervisor stops its workers
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            for pid in worker_pids(server.pid):
                os.kill(pid, signal.SIGKILL)
            server.kill()
            server.wait()


def worker_pids(parent: int) -> list[int]:
    """uvicorn's worker processes: the supervisor's children started by multiprocessing.spawn."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def http(method: str, url: str, *, data: bytes | None = None, headers: dict | None = None):
    """(status, headers, body) of one request; errors are answers too."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def wait_until_serving(server: subprocess.Popen, base: str, token: str, log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"uvicorn exited:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            status, _h, _b = http(
                "GET", f"{base}/api/v1/forms/{FORM_SLUG}", headers={"Authorization": f"Bearer {token}"}
            )
        except OSError:
            status = None
        if status == 200 and len(worker_pids(server.pid)) == 2:
            return
        time.sleep(0.3)
    raise SystemExit(f"uvicorn did not answer in 90 s:\n{log_path.read_text(errors='replace')[-3000:]}")


# --- CPU accounting from /proc ----------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def cpu_snapshot(workers: list[int]) -> dict:
    line = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(v) for v in line]
    return {
        "workers": sum(process_cpu(p) for p in workers),
        "postgres": {p: process_cpu(p) for p in postgres_pids()},
        "machine_total": sum(ticks[:8]) / TICK,
        "machine_idle": (ticks[3] + ticks[4]) / TICK,
    }


def cpu_used(before: dict, after: dict, seconds: float) -> dict:
    """CPU seconds per second of wall time (1.0 = one core busy) between two snapshots."""
    postgres = sum(cpu - before["postgres"].get(pid, 0.0) for pid, cpu in after["postgres"].items())
    total = after["machine_total"] - before["machine_total"]
    idle = after["machine_idle"] - before["machine_idle"]
    cores = os.cpu_count() or 1
    return {
        "uvicorn_workers_cores": round((after["workers"] - before["workers"]) / seconds, 2),
        "postgres_cores": round(postgres / seconds, 2),
        "machine_busy_cores": round(cores * (1 - idle / total), 2) if total else None,
    }


def machine_busy_cores(seconds: float = 2.0) -> float:
    """Cores busy on the machine while the bench itself is idle: anything else running."""
    before = cpu_snapshot([])
    time.sleep(seconds)
    return cpu_used(before, cpu_snapshot([]), seconds)["machine_busy_cores"]


# --- set-up inside Django ---------------------------------------------------------------------


def prepare_data() -> dict:
    """Token for the staff user, the stock form page; returns what the load needs."""
    from django.contrib.auth import get_user_model
    from wagtail.models import APIToken

    from bench.stockform.models import StockFormField, StockFormPage
    from forms_engine.models import FormPage
    from website.models import HomePage

    user = get_user_model().objects.get(username=STAFF_USER)
    _instance, token = APIToken.create_token(user=user, name="bench-ingest")
    form = FormPage.objects.get(slug=FORM_SLUG)
    home = HomePage.objects.get()
    page = home.add_child(
        instance=StockFormPage(
            title="Khai báo tại chốt (Wagtail form builder)",
            slug=STOCK_SLUG,
            intro="<p>Baseline: the stock Wagtail form page.</p>",
            thank_you_text=f"<p>Đã ghi nhận. Cảm ơn bạn! {STOCK_ACCEPTED_MARKER}</p>",
        )
    )
    fields = stock_fields()
    for order, (label, field_type, required, choices, _value) in enumerate(fields):
        StockFormField.objects.create(
            page=page,
            sort_order=order,
            label=label,
            field_type=field_type,
            required=required,
            choices=choices,
        )
    page.save_revision().publish()
    page.refresh_from_db()
    names = list(page.form_fields.order_by("sort_order").values_list("clean_name", flat=True))
    posted = {name: value for name, (*_spec, value) in zip(names, fields, strict=True) if value is not None}
    return {
        "token": token,
        "form_id": form.pk,
        "stock_page_id": page.pk,
        "stock_url": page.url,
        "posted": posted,
    }


def stock_body(posted: dict, csrf_token: str) -> str:
    return urllib.parse.urlencode({**posted, "csrfmiddlewaretoken": csrf_token}, doseq=True)


def checkpoint_body() -> str:
    body = {"client_id": "__CID__", "data": CHECKPOINT_DATA, "client_created_at": "2021-08-05T08:30:00+07:00"}
    return json.dumps(body, ensure_ascii=False)


def count_rows(prepared: dict) -> tuple[int, int]:
    """Rows of each side, on the bench's own connection, opened before the server started and
    kept: a server that leaks connections can leave PostgreSQL no slot for a new one."""
    from django.db import OperationalError
    from wagtail.contrib.forms.models import FormSubmission

    from forms_engine.models import Submission

    for attempt in range(30):
        try:
            return (
                Submission.objects.filter(form_id=prepared["form_id"]).count(),
                FormSubmission.objects.filter(page_id=prepared["stock_page_id"]).count(),
            )
        except OperationalError:
            if attempt == 29:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def queries_per_submission(prepared: dict) -> dict:
    """Queries and in-process time of one submission on each side (Django's test client)."""
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    api = Client(HTTP_HOST="127.0.0.1", headers={"authorization": f"Bearer {prepared['token']}"})
    stock = Client(HTTP_HOST="127.0.0.1")  # the test client skips CSRF checks: no query either way
    url = f"/api/v1/forms/{FORM_SLUG}/submissions"

    def submit_api():
        body = checkpoint_body().replace("__CID__", secrets.token_hex(16)).replace("__SEQ__", "000000001")
        response = api.post(url, body, content_type="application/json")
        assert response.status_code == 201, response.content

    def submit_stock():
        body = stock_body(prepared["posted"], "x").replace("__SEQ__", "000000001")
        response = stock.post(prepared["stock_url"], body, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 200 and STOCK_ACCEPTED_MARKER in response.content.decode()

    found = {}
    for side, submit in (("api", submit_api), ("stock", submit_stock)):
        submit()  # first request fills per-process caches
        reset_queries()  # the query log is a bounded deque that migrating filled
        with CaptureQueriesContext(connection) as captured:
            submit()
        # Read now: the next request's request_started signal empties the query log.
        statements = [query["sql"][:160] for query in captured.captured_queries]
        timings = []
        for _ in range(50):
            start = time.perf_counter()
            submit()
            timings.append(time.perf_counter() - start)
        timings.sort()
        found[side] = {
            "queries": len(statements),
            "in_process_median_ms": round(1000 * timings[len(timings) // 2], 2),
            "sql": statements,
        }
    return found


# --- the load ---------------------------------------------------------------------------------


def run_load(config: dict, workdir: Path, name: str) -> dict:
    path = workdir / f"{name}.json"
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    timeout = config["warmup"] + config["duration"] + 120
    done = subprocess.run(
        [sys.executable, str(HERE / "load.py"), str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"load process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def profile_worker(pid: int, seconds: float, out_dir: Path) -> subprocess.Popen | None:
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        print("py-spy is not installed in the venv (.venv/bin/pip install py-spy): no profile")
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(py_spy),
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        "200",
        "--format",
        "raw",
        "--nonblocking",
        "--output",
        str(out_dir / f"worker-{pid}.txt"),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure_side(side: str, config: dict, prepared: dict, server, workdir: Path, args) -> dict:
    workers = worker_pids(server.pid)
    busy_before = machine_busy_cores()
    waited = 0.0
    while busy_before > QUIET_CORES and waited < args.wait_quiet:
        time.sleep(3)
        waited += 3 + 2
        busy_before = machine_busy_cores()
    if busy_before > QUIET_CORES:
        print(f"  warning: {busy_before} cores busy before the load: something else runs; figures suffer")
    before_rows = count_rows(prepared)
    spies = []
    if args.py_spy and side == "api":
        seconds = config["warmup"] + config["duration"]
        spies = [profile_worker(pid, seconds, Path(args.py_spy)) for pid in workers]
    cpu_before, start = cpu_snapshot(workers), time.perf_counter()
    result = run_load(config, workdir, side)
    cpu = cpu_used(cpu_before, cpu_snapshot(workers), time.perf_counter() - start)
    for spy in spies:
        if spy is not None:
            spy.wait(timeout=60)
    after_rows = count_rows(prepared)
    success = sum(phase["success"] for phase in result.values())
    rows = {"api": after_rows[0] - before_rows[0], "stock": after_rows[1] - before_rows[1]}.get(side, success)
    elapsed = sum(phase["elapsed_s"] for phase in result.values())
    load = sum(phase["load_cpu_s"] for phase in result.values()) / elapsed
    cpu["load_process_cores"] = round(load, 2)
    cpu["other_cores"] = round(
        cpu["machine_busy_cores"] - cpu["uvicorn_workers_cores"] - cpu["postgres_cores"] - load, 2
    )
    return {
        **result,
        "machine_busy_cores_before": busy_before,
        "cpu_over_both_phases": cpu,
        "rows_stored": rows,
        "successes_answered": success,
        "lost": success - rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--duration", type=float, default=30, help="seconds measured per side (≤ 60)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120,
        metavar="S",
        help="wait up to S seconds for other programs to leave the cores idle before each side",
    )
    parser.add_argument("--no-save", action="store_true", help="print only: no JSON, no docs section")
    parser.add_argument("--py-spy", metavar="DIR", help="sample both workers during the API phase into DIR")
    args = parser.parse_args()
    if not 0 < args.duration <= 60 or not 0 <= args.warmup <= 60:
        raise SystemExit("a phase lasts at most 60 seconds")

    maintenance_url, database_url = database_urls(
        os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL, DB_NAME
    )
    env_overrides = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        "BENCH_CACHE_PREFIX": f"outbreak-desk-bench-{secrets.token_hex(4)}",
        "DEMO_PASSWORD": os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(16),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env_overrides)
    server_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }

    print(f"database {DB_NAME}: recreating, migrating, loading the demo province …", flush=True)
    recreate_database(maintenance_url, DB_NAME)
    server = None
    try:
        setup_django()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        with redirect_stdout(io.StringIO()):  # load_demo prints the (throwaway) password
            call_command("load_demo")
        prepared = prepare_data()
        assert leaf_count(CHECKPOINT_DATA) == len(stock_fields()), "both sides carry the same values"
        queries = queries_per_submission(prepared)
        print(f"queries per submission: API {queries['api']['queries']}, stock {queries['stock']['queries']}")

        count_rows(prepared)  # opens the connection the counts keep using
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
        log_path = workdir / "uvicorn.log"
        server = start_server(port, server_env, log_path)
        wait_until_serving(server, base, prepared["token"], log_path)

        # The stock page's CSRF cookie and token, fetched once as a browser would.
        _status, headers, page = http("GET", base + prepared["stock_url"])
        cookie = re.search(r"csrftoken=([^;]+)", headers.get("Set-Cookie", "")).group(1)
        csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()

        common_config = {
            "host": "127.0.0.1",
            "port": port,
            "connections": args.connections,
            "warmup": args.warmup,
            "duration": args.duration,
        }
        api_config = {
            **common_config,
            "method": "POST",
            "path": f"/api/v1/forms/{FORM_SLUG}/submissions",
            "headers": {"Authorization": f"Bearer {prepared['token']}", "Content-Type": "application/json"},
            "body_template": checkpoint_body(),
            "success": [201],
        }
        stock_config = {
            **common_config,
            "method": "POST",
            "path": prepared["stock_url"],
            "headers": {
                "Cookie": f"csrftoken={cookie}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            "body_template": stock_body(prepared["posted"], csrf),
            "success": [200, 302],
            "success_marker": STOCK_ACCEPTED_MARKER,
        }
        # Context, not a target: the same server answering a Django view that does no work
        # (the PWA manifest: no database, no template), the ceiling any endpoint stays under.
        ceiling_config = {
            **common_config,
            "warmup": min(args.warmup, 2),
            "duration": min(args.duration, 10),
            "method": "GET",
            "path": "/manifest.webmanifest",
            "headers": {},
            "body_template": "",
            "success": [200],
        }
        sides = {}
        for side, config in (("api", api_config), ("stock", stock_config), ("ceiling", ceiling_config)):
            print(f"{side}: {config['warmup']:g} s warm-up + {config['duration']:g} s …", flush=True)
            sides[side] = measure_side(side, config, prepared, server, workdir, args)
            measured = sides[side]["measure"]
            print(
                f"  {measured['success_per_s']}/s, p50/p95/p99 {measured['latency_ms']['p50']}/"
                f"{measured['latency_ms']['p95']}/{measured['latency_ms']['p99']} ms, "
                f"errors {measured['errors']}, lost {sides[side]['lost']}, "
                f"cpu {sides[side]['cpu_over_both_phases']}",
                flush=True,
            )
        server_log = log_path.read_text(errors="replace").strip()
    finally:
        if server is not None:
            stop_server(server)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            recreate_database(maintenance_url, DB_NAME, drop_only=True)

    report(args, sides, queries, server_log)


def report(args, sides: dict, queries: dict, server_log: str) -> None:
    api, stock, ceiling = sides["api"]["measure"], sides["stock"]["measure"], sides["ceiling"]["measure"]
    ratio = round(api["success_per_s"] / stock["success_per_s"], 2) if stock["success_per_s"] else None
    met = {
        "accepted_per_s": api["success_per_s"] >= TARGETS["accepted_per_s"],
        "p95_ms": api["latency_ms"]["p95"] is not None and api["latency_ms"]["p95"] < TARGETS["p95_ms"],
        "ratio": ratio is not None and ratio >= TARGETS["ratio"],
        "nothing_lost": sides["api"]["lost"] == 0 and sides["stock"]["lost"] == 0,
    }
    exceptions = server_exceptions(server_log)
    figures = {
        "database": "postgresql",
        "server": "uvicorn website.asgi:application --workers 2 (bench.settings: production settings)",
        "load": {
            "generator": "bench/ingest/load.py (asyncio, own process)",
            "connections": args.connections,
            "warmup_s": args.warmup,
            "duration_s": args.duration,
        },
        "cpu_model": cpu_model(),
        "api": sides["api"],
        "stock": sides["stock"],
        "ceiling_no_work_view": sides["ceiling"],
        "ratio_api_to_stock": ratio,
        "queries_per_submission": queries,
        "targets": {name: {"target": TARGETS.get(name, 0), "met": ok} for name, ok in met.items()},
        "server_exceptions": exceptions,
        "server_log_tail": server_log[-2000:],
    }

    def latency(side):
        ms = side["latency_ms"]
        return f"{ms['p50']} / {ms['p95']} / {ms['p99']}"

    def rows(name):
        side = sides[name]
        return f"{side['rows_stored']:,} rows = {side['successes_answered']:,} accepted, lost {side['lost']}"

    def cpu(name):
        used = sides[name]["cpu_over_both_phases"]
        return (
            f"{used['uvicorn_workers_cores']} / {used['postgres_cores']} / {used['load_process_cores']}"
            f" / {used['other_cores']}"
        )

    def errors(side):
        kinds = [f"{status} ×{n}" for status, n in side["statuses"].items() if n and status not in side["ok"]]
        kinds += [f"socket ×{side['socket_errors']}"] if side["socket_errors"] else []
        return f"{side['errors']}" + (f" ({', '.join(kinds)})" if kinds else "")

    def verdict(ok):
        return "**met**" if ok else "**not met**"

    table = [
        ("accepted submissions/s", f"{api['success_per_s']:,}", f"{stock['success_per_s']:,}"),
        ("latency p50 / p95 / p99 (ms)", latency(api), latency(stock)),
        ("requests in the measured phase", f"{api['requests']:,}", f"{stock['requests']:,}"),
        ("errors (other statuses, socket errors)", errors(api), errors(stock)),
        ("rows stored vs accepted (warm-up + measured)", rows("api"), rows("stock")),
        (
            "SQL queries per submission, in-process through Django's view",
            str(queries["api"]["queries"]),
            str(queries["stock"]["queries"]),
        ),
        (
            "one submission in-process through Django's view, no HTTP (median ms)",
            str(queries["api"]["in_process_median_ms"]),
            str(queries["stock"]["in_process_median_ms"]),
        ),
        (
            "CPU in cores: uvicorn workers / PostgreSQL / load process / rest of the machine "
            "(includes PostgreSQL backends that exited)",
            cpu("api"),
            cpu("stock"),
        ),
        (
            "cores busy before the phase (others on the machine)",
            str(sides["api"]["machine_busy_cores_before"]),
            str(sides["stock"]["machine_busy_cores_before"]),
        ),
        ("ratio of accepted/s, API ÷ stock form", f"{ratio}×", ""),
        (
            "ceiling: same server, a Django view doing no work (GET /manifest.webmanifest), answers/s",
            f"{ceiling['success_per_s']:,} (p50 {ceiling['latency_ms']['p50']} ms)",
            "",
        ),
        ("exceptions in the server log", "; ".join(f"{text} ×{n}" for text, n in exceptions) or "none", ""),
        (f"target ≥ {TARGETS['accepted_per_s']} accepted/s", verdict(met["accepted_per_s"]), ""),
        (f"target p95 < {TARGETS['p95_ms']} ms", verdict(met["p95_ms"]), ""),
        (f"target ≥ {TARGETS['ratio']:g}× the stock form", verdict(met["ratio"]), ""),
        ("target: nothing lost (rows = accepted)", verdict(met["nothing_lost"]), ""),
        (
            "load",
            f"{args.connections} keep-alive connections, {args.warmup:g} s warm-up + {args.duration:g} s "
            "per side; uvicorn --workers 2 on the same machine",
            "",
        ),
    ]
    if args.no_save:
        print(json.dumps(figures, indent=2, ensure_ascii=False))
        return
    save("ingest", figures, table, header=("measure", "checkpoint API", "stock Wagtail form"))


def server_exceptions(log: str) -> list[tuple[str, int]]:
    """The exceptions uvicorn's workers logged (last line of each traceback), most frequent first."""
    lines = [line.strip() for line in log.splitlines()]
    found = Counter()
    for index, line in enumerate(lines):
        if not re.match(r"^[\w.]+(Error|Exception): ", line):
            continue
        after = index + 1
        while after < len(lines) and not lines[after]:
            after += 1
        following = lines[after] if after < len(lines) else ""
        if following.startswith(("The above exception", "During handling of the above")):
            continue  # a cause: the chain's last exception is the one counted
        found[shorten(re.sub(r"\d+", "N", line))] += 1
    return found.most_common(3)


def shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else f"{text[:50]} … {text[-60:]}"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
