"""On PostgreSQL, refuse UPDATE, DELETE and TRUNCATE of the access log for any SQL, not only the ORM.

The one UPDATE allowed is what on_delete=SET_NULL does when a user or area is deleted: user_id
or area_id set to NULL, every other column unchanged. TRUNCATE passes only in a session that
set ``audit.allow_truncate = on`` (the test settings do, because Django's test flush truncates
every table); the operator's purge procedure is in docs/security.md, "Audit".
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION audit_accessrecord_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF coalesce(current_setting('audit.allow_truncate', true), '') = 'on' THEN
            RETURN NULL;
        END IF;
    ELSIF TG_OP = 'UPDATE'
        AND (NEW.user_id IS NULL OR NEW.user_id IS NOT DISTINCT FROM OLD.user_id)
        AND (NEW.area_id IS NULL OR NEW.area_id IS NOT DISTINCT FROM OLD.area_id)
        AND (to_jsonb(NEW) - 'user_id' - 'area_id') = (to_jsonb(OLD) - 'user_id' - 'area_id')
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_accessrecord is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_accessrecord_no_change
    BEFORE UPDATE OR DELETE ON audit_accessrecord
    FOR EACH ROW EXECUTE FUNCTION audit_accessrecord_append_only();

CREATE TRIGGER audit_accessrecord_no_truncate
    BEFORE TRUNCATE ON audit_accessrecord
    FOR EACH STATEMENT EXECUTE FUNCTION audit_accessrecord_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_accessrecord_no_truncate ON audit_accessrecord;
DROP TRIGGER IF EXISTS audit_accessrecord_no_change ON audit_accessrecord;
DROP FUNCTION IF EXISTS audit_accessrecord_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_access_record")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
