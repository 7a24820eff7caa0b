"""On PostgreSQL, every committed insert into the outbox wakes the scheduler (LISTEN outbox).

NOTIFY is transactional: it is delivered at commit, never for a rolled-back event, and the
notifications of one transaction are folded into one.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION workflows_event_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER workflows_event_notify AFTER INSERT ON workflows_event
    FOR EACH STATEMENT EXECUTE FUNCTION workflows_event_notify();
"""
DROP = """
DROP TRIGGER IF EXISTS workflows_event_notify ON workflows_event;
DROP FUNCTION IF EXISTS workflows_event_notify();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("workflows", "0001_outbox")]

    operations = [migrations.RunPython(create, drop)]
