"""Area tree: loading all of Vietnam, and subtree queries against recursion in Python.

Baseline: walking a province's subtree level by level with get_children() (one query per
node with children), the approach the foundation issue rules out. Measured: the one indexed
path-prefix query that ``Area.subtree()`` and the scope selector use. Reported as a ratio.

    .venv/bin/python bench/bench_area_tree.py        # uses DATABASE_URL when set
"""

import time

from common import best_of, save, setup_django, throwaway_database

setup_django()

from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from places.loaders import load_areas_file, package_data_path  # noqa: E402
from places.models import Area  # noqa: E402


def recursive_subtree(area: Area) -> list[Area]:
    found = [area]
    for child in area.get_children():
        found.extend(recursive_subtree(child))
    return found


def main():
    with throwaway_database() as vendor:
        start = time.perf_counter()
        load_areas_file(package_data_path())
        load_seconds = time.perf_counter() - start
        start = time.perf_counter()
        reload_result = load_areas_file(package_data_path())
        reload_seconds = time.perf_counter() - start

        province = max(Area.get_root_nodes(), key=lambda a: a.get_descendant_count())
        size = len(list(province.subtree()))
        assert size == len(recursive_subtree(province))
        # The query log is a bounded deque that loading filled: empty it before counting.
        reset_queries()
        with CaptureQueriesContext(connection) as one_query:
            list(province.subtree())
        reset_queries()
        with CaptureQueriesContext(connection) as many_queries:
            recursive_subtree(province)
        indexed = best_of(lambda: list(province.subtree()))
        recursive = best_of(lambda: recursive_subtree(province), repeat=3)

        figures = {
            "database": vendor,
            "areas_loaded": Area.objects.count(),
            "load_all_seconds": round(load_seconds, 2),
            "reload_all_seconds": round(reload_seconds, 2),
            "reload_unchanged": reload_result.counts["unchanged"],
            "largest_province": province.name,
            "largest_province_areas": size,
            "subtree_indexed_ms": round(indexed * 1000, 2),
            "subtree_indexed_queries": len(one_query.captured_queries),
            "subtree_recursive_ms": round(recursive * 1000, 2),
            "subtree_recursive_queries": len(many_queries.captured_queries),
            "speedup_ratio": round(recursive / indexed, 1),
        }
    save(
        "area_tree",
        figures,
        [
            ("areas loaded (all provinces, 3-level 2021 layout)", f"{figures['areas_loaded']:,}"),
            ("`load_areas` first load / re-load (s)", f"{load_seconds:.1f} / {reload_seconds:.1f}"),
            (
                f"subtree of {province.name} ({size} areas): indexed path query",
                f"{figures['subtree_indexed_ms']} ms, {figures['subtree_indexed_queries']} query",
            ),
            (
                "same subtree, baseline: recursion in Python",
                f"{figures['subtree_recursive_ms']} ms, {figures['subtree_recursive_queries']} queries",
            ),
            ("ratio (baseline / indexed)", f"{figures['speedup_ratio']}×"),
        ],
    )


if __name__ == "__main__":
    main()
