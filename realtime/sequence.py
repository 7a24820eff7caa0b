"""Per-area sequence numbers of live events.

Every event sent to an area's group carries that group's next number, so a client that
expected n+1 and got more knows it missed something and refetches the snapshot (whose
``seq`` comes from ``current``).

The numbers live in the database (``realtime.models.AreaSequence``), which every web process
and worker shares and which outlives a Redis restart. They were in Redis before: a Redis that
came back empty started every area at 1 again, and every open page, already at a higher
number, skipped the events that followed as "seen" — missed without a trace. A number is
taken by one upsert per publish (``reserve``), after the publisher's commit and outside any
transaction, so a row is locked only for that one statement.

The names ``current`` and ``next`` are the public contract (``realtime.sequence.next`` shadows
the builtin only inside this module, which does not use it).
"""

from collections.abc import Mapping

from django.db import connection


def _model():
    # The realtime package imports this module while apps load (realtime/__init__.py), before
    # models may be imported.
    from .models import AreaSequence

    return AreaSequence


def current(area_code: str) -> int:
    """The number of the last event sent to ``area_code``'s group (0 before the first)."""
    return current_many([area_code])[str(area_code)]


def current_many(area_codes: list[str]) -> dict[str, int]:
    """``current`` for several areas at once (the hello message)."""
    codes = [str(code) for code in area_codes]
    known = dict(_model().objects.filter(code__in=codes).values_list("code", "value"))
    return {code: known.get(code, 0) for code in codes}


def next(area_code: str) -> int:  # the contract's name (shadows the builtin here only)
    """Take the number of the next event for ``area_code``'s group."""
    return next_many([area_code])[str(area_code)]


def next_many(area_codes: list[str]) -> dict[str, int]:
    """``next`` for several areas at once (a publish to an area and its ancestors)."""
    return reserve({str(code): 1 for code in area_codes})


def reserve(counts: Mapping[str, int]) -> dict[str, int]:
    """Take ``counts[code]`` numbers for each area at once; returns the last number taken per
    area (the ones taken are ``last - count + 1 … last``).

    One statement for a whole batch of events. Rows are upserted in code order, the same for
    every publisher, so two publishes sharing ancestors wait for each other but never
    deadlock.
    """
    codes = sorted(code for code, count in counts.items() if count > 0)
    if not codes:
        return {}
    table = connection.ops.quote_name(_model()._meta.db_table)
    rows = ", ".join(["(%s, %s)"] * len(codes))
    sql = (
        f"INSERT INTO {table} (code, value) VALUES {rows} "  # noqa: S608 - placeholders only
        f"ON CONFLICT (code) DO UPDATE SET value = {table}.value + EXCLUDED.value "
        "RETURNING code, value"
    )
    params = [item for code in codes for item in (code, counts[code])]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {code: int(value) for code, value in cursor.fetchall()}
