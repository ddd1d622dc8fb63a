"""On PostgreSQL, audit events and checkpoints are append-only: a trigger refuses every UPDATE
and DELETE, whoever asks (the application's role included). Production gives the tables to a
separate owner role and grants the application only SELECT and INSERT on them, which also rules
out TRUNCATE (README "Audit trail" and docs/deployment.md); an owner who must repair something
disables the trigger explicitly, which the keyed seals and the checkpoints still catch."""

from django.db import migrations

TABLES = ("audit_auditevent", "audit_auditcheckpoint")

CREATE = """
CREATE OR REPLACE FUNCTION cis_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""
TRIGGER = """
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION cis_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE, params=None)
    for table in TABLES:
        schema_editor.execute(TRIGGER.format(table=table))


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS cis_audit_append_only()")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_keyed_seals_and_checkpoints"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
