"""Room in each page of tracing_person for level changes to stay in place (HOT updates: no
index written); models.Person's Meta says why. PostgreSQL only."""

from django.db import migrations

FILLFACTOR = 85


def fillfactor_set(apps, schema_editor, value=FILLFACTOR):
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(apps.get_model("tracing", "Person")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})")


def fillfactor_reset(apps, schema_editor):
    fillfactor_set(apps, schema_editor, value=100)


class Migration(migrations.Migration):
    dependencies = [("tracing", "0002_tracing_graph_quarantine")]

    operations = [migrations.RunPython(fillfactor_set, fillfactor_reset)]
