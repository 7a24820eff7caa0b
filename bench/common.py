"""Shared bench plumbing: a throwaway database, timing, and writing results.

Each benchmark prints its figures, saves them as JSON under bench/results/, and rewrites
its own section of docs/benchmarks.md between ``<!-- bench:NAME -->`` markers.
"""

import json
import os
import platform
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "benchmarks.md"


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "website.settings.test")
    import django

    django.setup()


@contextmanager
def throwaway_database():
    """A fresh test database (PostgreSQL from DATABASE_URL, else SQLite), dropped after."""
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield connection.vendor
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def database_urls(server_url: str, db_name: str) -> tuple[str, str]:
    """(maintenance database URL, throwaway database URL) on the server ``server_url`` names."""
    import urllib.parse

    parts = urllib.parse.urlsplit(server_url)
    return parts._replace(path="/postgres").geturl(), parts._replace(path=f"/{db_name}").geturl()


def recreate_database(maintenance_url: str, db_name: str, *, drop_only: bool = False) -> None:
    """Drop the throwaway database ``db_name`` (its connections too) and, unless ``drop_only``,
    create it empty."""
    from contextlib import closing

    import psycopg

    with closing(psycopg.connect(maintenance_url, autocommit=True)) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{db_name}"')


def best_of(function, repeat: int = 5) -> float:
    """Median seconds of ``repeat`` runs (after one warm-up run)."""
    function()
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def save(
    name: str, figures: dict, table: list[tuple[str, ...]], header: tuple[str, ...] = ("measure", "value")
) -> None:
    """Write bench/results/NAME.json and the NAME section of docs/benchmarks.md.

    ``table`` rows have one cell per column of ``header`` (two by default: measure, value).
    """
    figures = {
        **figures,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    rows = "\n".join("| " + " | ".join(row) + " |" for row in table)
    measured = f"{figures['measured_at']} on {figures['machine']}, {figures.get('database')}"
    padding = " |" * (len(header) - 2)
    section = (
        f"<!-- bench:{name} -->\n| {' | '.join(header)} |\n|{'---|' * len(header)}\n{rows}\n"
        f"| measured | {measured} |{padding}\n<!-- /bench:{name} -->"
    )
    text = DOC.read_text(encoding="utf-8")
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    if start in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOC.write_text(text, encoding="utf-8")
    print(json.dumps(figures, indent=2, ensure_ascii=False))
