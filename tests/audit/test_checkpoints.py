"""Signed checkpoints in the sink outside the database, and what verify() makes of them."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from django.db import transaction

from cis.audit import checkpoints, keys
from cis.audit.models import AuditCheckpoint, AuditEvent
from cis.audit.trail import record
from cis.audit.verify import verify
from cis.authz.policy import CONSOLE

pytestmark = pytest.mark.django_db


def _record(n: int = 1) -> None:
    for i in range(n):
        with transaction.atomic():
            record(actor=CONSOLE, rule="t", action="test.a", target_type="t", target_ref=str(i))


def test_a_checkpoint_is_signed_appended_fsynced_and_copied() -> None:
    _record(3)
    made = checkpoints.write()
    assert made.number == 1 and made.chains == {1: (3, AuditEvent.objects.get(seq=3).hash)}
    line = checkpoints.sink_path().read_text()
    assert line.endswith("\n") and line.count("\n") == 1
    assert checkpoints.sink_path().stat().st_mode & 0o777 == 0o600
    assert keys.checkpoint_signature_valid(made.signed_bytes(), made.signature)
    assert AuditCheckpoint.objects.get().line == line.strip()
    _record()
    second = checkpoints.write()
    assert second.number == 2 and second.events == 4
    result = verify()
    assert result.intact and result.checkpoints == 2 and result.uncovered == 0


def test_an_edited_checkpoint_fails_its_signature() -> None:
    _record(2)
    checkpoints.write()
    path = checkpoints.sink_path()
    data = json.loads(path.read_text())
    data["chains"]["1"][0] = 1
    path.write_text(json.dumps(data) + "\n")
    problem = verify().problem
    assert problem is not None and problem.where == "checkpoint #1"
    assert "does not match its signature" in problem.reason


def test_a_checkpoint_replaced_in_the_middle_breaks_the_links() -> None:
    _record()
    for _ in range(3):
        checkpoints.write()
    path = checkpoints.sink_path()
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[2]]) + "\n")
    problem = verify().problem
    assert problem is not None
    assert "checkpoint #2 is missing" in problem.reason


def test_a_torn_last_line_is_a_note_and_the_next_checkpoint_carries_on() -> None:
    _record()
    checkpoints.write()
    path = checkpoints.sink_path()
    with path.open("a") as handle:
        handle.write('{"v": 1, "node": "ab')  # the machine lost power mid-write
    result = verify()
    assert result.intact
    assert any("incomplete" in note for note in result.notes)
    made = checkpoints.write()
    assert made.number == 2
    assert verify().intact


def test_a_file_deleted_while_the_database_remembers_it() -> None:
    _record()
    checkpoints.write()
    checkpoints.sink_path().unlink()
    problem = verify().problem
    assert problem is not None and "is missing from" in problem.reason


def test_an_older_database_against_newer_checkpoints() -> None:
    """A database put back from an old copy (or rolled back by hand) is behind the sink."""
    _record(2)
    old = {e.pk for e in AuditEvent.objects.all()}
    _record(2)
    checkpoints.write()
    from cis.audit.models import AuditHead

    from .tamper import as_database_owner

    with as_database_owner():
        AuditEvent.objects.exclude(pk__in=old).delete()
        AuditCheckpoint.objects.all().delete()
    AuditHead.objects.update(seq=2, hash=AuditEvent.objects.get(seq=2).hash)
    problem = verify().problem
    assert problem is not None and problem.seq == 3
    assert "events #3 to #4 were deleted" in problem.reason


def test_checkpoints_also_go_to_syslog(settings: object) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(5)
        port = listener.getsockname()[1]
        settings.CIS_AUDIT_SYSLOG = f"127.0.0.1:{port}"  # type: ignore[attr-defined]
        _record()
        made = checkpoints.write()
        message = listener.recv(65536).decode()
    assert "cis-audit: checkpoint " in message
    assert json.loads(message.split("checkpoint ", 1)[1].rstrip("\x00"))["n"] == made.number


@pytest.mark.django_db(transaction=True)
def test_every_nth_event_writes_a_checkpoint_after_its_commit(settings: object) -> None:
    settings.CIS_AUDIT_CHECKPOINT_EVERY = 5  # type: ignore[attr-defined]
    settings.CIS_AUDIT_CHECKPOINT_SECONDS = 0  # type: ignore[attr-defined]
    _record(4)
    assert not checkpoints.sink_path().exists()
    _record(1)
    found, _ = checkpoints.read_sink()
    assert [c.events for c in found] == [5]
    _record(6)
    assert [c.events for c in checkpoints.read_sink()[0]] == [5, 10]
    assert verify().intact


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_writes_no_checkpoint(settings: object) -> None:
    settings.CIS_AUDIT_CHECKPOINT_EVERY = 1  # type: ignore[attr-defined]

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        record(actor=CONSOLE, rule="t", action="test.a", target_type="t", target_ref="x")
        raise Undo
    assert not Path(checkpoints.sink_path()).exists()
