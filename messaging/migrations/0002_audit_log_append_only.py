"""On PostgreSQL, the audit log refuses UPDATE and DELETE."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION messaging_audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'messaging_audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER messaging_audit_log_append_only
    BEFORE UPDATE OR DELETE ON messaging_audit_log
    FOR EACH ROW EXECUTE FUNCTION messaging_audit_log_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS messaging_audit_log_append_only ON messaging_audit_log;
DROP FUNCTION IF EXISTS messaging_audit_log_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
