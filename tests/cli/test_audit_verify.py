"""`cis audit verify` names the first event edited, deleted, reordered or cut off, and the first
checkpoint missing; `cis audit checkpoint`, `init`, `rotate-key` and `public-key`."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cis.audit import checkpoints
from cis.audit.models import AuditEvent, AuditHead
from cis.authz.policy import CONSOLE
from cis.organisations.services import organisation_create, ra_create
from tests.audit.tamper import as_database_owner

from .conftest import Cis

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_events() -> None:
    ra = ra_create(actor=CONSOLE, code="RA-A", name="Audit RA")
    for n in range(4):
        organisation_create(
            actor=CONSOLE,
            ods_code=f"FAU0{n}",
            name=f"Pharmacy {n}",
            org_type="community_pharmacy",
            serving_ra=ra,
        )
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [1, 2, 3, 4, 5]


def _broken(cis: Cis) -> str:
    with pytest.raises(CommandError) as refusal:
        cis("audit", "verify")
    return str(refusal.value)


def test_an_intact_chain(cis: Cis, five_events: None) -> None:
    lines = cis("audit", "verify").splitlines()
    assert lines[0] == "Audit chain intact: 5 events"
    assert lines[1].startswith("No checkpoint yet")


def test_an_intact_chain_with_a_checkpoint(cis: Cis, five_events: None) -> None:
    assert cis("audit", "checkpoint").startswith("Checkpoint #1 written to ")
    lines = cis("audit", "verify").splitlines()
    assert lines[0] == "Audit chain intact: 5 events"
    assert lines[1].startswith("1 checkpoint agree; the latest, #1 at ")
    assert lines[1].endswith("covers all but 0 events.")


def test_an_empty_trail_is_intact(cis: Cis, db: None) -> None:
    assert cis("audit", "verify").splitlines()[0] == "Audit chain intact: 0 events"


def test_an_emptied_trail_is_caught_by_its_checkpoint(cis: Cis, five_events: None) -> None:
    cis("audit", "checkpoint")
    with as_database_owner():
        AuditEvent.objects.all().delete()
        AuditHead.objects.all().delete()
    message = _broken(cis)
    assert message.startswith("Audit chain broken at event #1: the chain ends at #0 but ")
    assert "recorded #5: events #1 to #5 were deleted" in message


def test_an_edited_event(cis: Cis, five_events: None) -> None:
    with as_database_owner():
        AuditEvent.objects.filter(seq=3).update(target_ref="FEVIL")
    message = _broken(cis)
    assert message.startswith(
        "Audit chain broken at event #3: its seal does not match its contents"
    )
    assert "(2 events before it intact)" in message


def test_a_deleted_event(cis: Cis, five_events: None) -> None:
    with as_database_owner():
        AuditEvent.objects.filter(seq=2).delete()
    message = _broken(cis)
    assert message.startswith("Audit chain broken at event #2:")
    assert "event #2 was deleted" in message


def test_the_latest_event_cut_off_with_its_head_moved_back(cis: Cis, five_events: None) -> None:
    cis("audit", "checkpoint")
    fourth = AuditEvent.objects.get(seq=4)
    with as_database_owner():
        AuditEvent.objects.filter(seq=5).delete()
    AuditHead.objects.filter(id=1).update(seq=4, hash=fourth.hash)
    message = _broken(cis)
    assert message.startswith("Audit chain broken at event #5: the chain ends at #4 but ")
    assert "checkpoint #1" in message


def test_a_checkpoint_missing_from_the_file(cis: Cis, five_events: None) -> None:
    cis("audit", "checkpoint")
    cis("audit", "checkpoint")
    path = checkpoints.sink_path()
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n")
    message = _broken(cis)
    assert message.startswith("Audit chain broken at checkpoint #2: checkpoint #2 (written ")
    assert "is missing from" in message


def test_json_output_names_the_broken_event(five_events: None) -> None:
    with as_database_owner():
        AuditEvent.objects.filter(seq=4).update(action="organisation.close")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("audit", "verify", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["intact"] is False
    assert result["events"] == 3
    assert result["broken"]["seq"] == 4
    assert result["broken"]["where"] == "event #4"
    assert "seal does not match" in result["broken"]["reason"]


def test_json_output_when_intact(five_events: None) -> None:
    out = io.StringIO()
    call_command("audit", "verify", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"intact": True, "events": 5, "checkpoints": 0}


def test_keys_commands(cis: Cis, five_events: None) -> None:
    assert "events are sealed with k1" in cis("audit", "init")
    assert cis("audit", "public-key").startswith("-----BEGIN PUBLIC KEY-----")
    assert cis("audit", "rotate-key").startswith("New events will be sealed with k2")
    assert "events are sealed with k2" in cis("audit", "init")
