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
