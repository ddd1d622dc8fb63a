"""On PostgreSQL, audit rows are append-only: the trigger refuses UPDATE and DELETE to everyone,
and with the documented roles (docs/postgresql/grants.sql) the application's role cannot even
try, nor TRUNCATE, while it still records events."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from cis.audit.models import AuditCheckpoint, AuditEvent
from cis.audit.trail import record
from cis.authz.policy import CONSOLE

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db]
GRANTS = Path(__file__).resolve().parents[2] / "docs" / "postgresql" / "grants.sql"


@pytest.fixture(autouse=True)
def _postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger and roles are PostgreSQL's")


def _event() -> AuditEvent:
    with transaction.atomic():
        seq = record(actor=CONSOLE, rule="t", action="test.a", target_type="t", target_ref="1")
    return AuditEvent.objects.get(seq=seq)


def _refused(sql: str, params: list[object] | None = None) -> str:
    with pytest.raises(DatabaseError) as refusal, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    return str(refusal.value)


def test_the_trigger_refuses_update_and_delete_to_everyone() -> None:
    event = _event()
    message = _refused(
        'UPDATE "audit_auditevent" SET "actor_name" = %s WHERE "id" = %s', ["x", event.pk]
    )
    assert "audit rows are append-only: UPDATE on audit_auditevent refused" in message
    message = _refused('DELETE FROM "audit_auditevent" WHERE "id" = %s', [event.pk])
    assert "append-only: DELETE" in message
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()
    AuditCheckpoint.objects.create(node="n", number=1, at=event.at, line="{}")
    assert "append-only" in _refused('DELETE FROM "audit_auditcheckpoint"')
    assert AuditEvent.objects.filter(pk=event.pk, actor_name=event.actor_name).exists()


def test_the_application_role_reads_and_adds_but_never_changes_or_truncates() -> None:
    app = f"cis_app_test_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{app}"')
        try:
            cursor.execute(f'GRANT USAGE ON SCHEMA public TO "{app}"')
            cursor.execute(GRANTS.read_text().replace(':"app"', f'"{app}"'))
            cursor.execute(f'SET ROLE "{app}"')
            try:
                event = _event()  # the application still records (and moves its chain's head)
                assert "permission denied" in _refused(
                    'UPDATE "audit_auditevent" SET "actor_name" = %s WHERE "id" = %s',
                    ["x", event.pk],
                )
                assert "permission denied" in _refused('DELETE FROM "audit_auditevent"')
                assert "permission denied" in _refused('TRUNCATE "audit_auditevent"')
                assert "permission denied" in _refused('TRUNCATE "audit_auditcheckpoint"')
                assert "must be owner" in _refused(
                    'ALTER TABLE "audit_auditevent" DISABLE TRIGGER USER'
                )
                assert AuditEvent.objects.filter(pk=event.pk).exists()
            finally:
                cursor.execute("RESET ROLE")
        finally:
            cursor.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{app}"')
            cursor.execute(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "{app}"')
            cursor.execute(f'REVOKE ALL ON SCHEMA public FROM "{app}"')
            cursor.execute(f'DROP ROLE "{app}"')
