"""Inserts that skip what a unique constraint refuses and still tell which rows they made.

``bulk_create(ignore_conflicts=True)`` returns no ids, and reading the rows back costs a query
and a model instance per row: on a new case's hundred contacts that was most of the expansion's
time. ``rows_insert`` sends one ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` instead
(PostgreSQL, and SQLite from 3.35).
"""

from django.db import connection


def rows_insert(model, rows: list[dict]) -> list[int]:
    """Insert ``rows`` (field name → value; the model's defaults for the rest); the ids of the
    rows inserted. A row a unique constraint refuses (one active order per person…) is skipped."""
    if not rows:
        return []
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = []
    for row in rows:
        for field in fields:
            value = row[field.name] if field.name in row else row.get(field.attname, field.get_default())
            params.append(field.get_db_prep_save(value, connection))
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608 - names from the model
        f"VALUES {', '.join([placeholders] * len(rows))} "
        f"ON CONFLICT DO NOTHING RETURNING {quote(model._meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def unnest_of(model, rows: list[dict], *, varying=("person_id",)) -> tuple[str, dict[str, str], dict]:
    """PostgreSQL: ``rows`` (field name → value, the same fields in each) as a row source.

    Returns ``(source, values, params)``: ``source`` is ``unnest(%(c0)s::bigint[], …) AS w
    (person_id, …)`` with an array for each column whose values differ (and for those named
    in ``varying``), ``values`` maps each quoted column to its expression in a SELECT over
    that source (``w.person_id``, or ``%(c3)s::date`` for a value every row shares), and
    ``params`` holds them by name. The statement's text is the same whatever the number of
    rows, and each value is sent once, where a multi-row VALUES costs a parameter and its
    parsing per cell.
    """
    quote = connection.ops.quote_name
    arrays, values, params = [], {}, {}
    for index, name in enumerate(rows[0]):  # a foreign key by its attname ("person_id") or name
        field = model._meta.get_field(name)
        column, key, cast = quote(field.column), f"c{index}", field.db_type(connection)
        first = rows[0][name]
        if name in varying or any(row[name] != first for row in rows):
            params[key] = [db_value(field, row[name]) for row in rows]
            arrays.append((column, f"%({key})s::{cast}[]"))
            values[column] = f"w.{column}"
        else:
            params[key] = db_value(field, first)
            values[column] = f"%({key})s::{cast}"
    source = f"unnest({', '.join(array for _c, array in arrays)}) AS w ({', '.join(c for c, _a in arrays)})"
    return source, values, params


def db_value(field, value):
    """``field.get_db_prep_save(value)``, but ids, texts and NULLs as they are: a new case's
    orders hold hundreds of them, and the field's conversions would return them unchanged."""
    if value is None or type(value) in (int, str):
        return value
    return field.get_db_prep_save(value, connection)
