"""The outbox is polled (run_scheduler), no longer NOTIFYed: a NOTIFY in the transaction of
every submission serialised the commits (docs/benchmarks.md, pipeline)."""

from django.db import migrations

DROP = """
DROP TRIGGER IF EXISTS workflows_event_notify ON workflows_event;
DROP FUNCTION IF EXISTS workflows_event_notify();
"""


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("workflows", "0003_task_types")]

    operations = [migrations.RunPython(drop, migrations.RunPython.noop)]
