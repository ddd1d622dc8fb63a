"""`cis audit verify` finds an edited, deleted or reordered event and names the first one broken."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cis.audit.models import AuditEvent
from cis.authz.policy import CONSOLE
from cis.organisations.services import organisation_create, ra_create

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
    assert cis("audit", "verify").strip() == "Audit chain intact: 5 events"


def test_an_empty_trail_is_intact(cis: Cis, db: None) -> None:
    assert cis("audit", "verify").strip() == "Audit chain intact: 0 events"


def test_an_edited_event(cis: Cis, five_events: None) -> None:
    AuditEvent.objects.filter(seq=3).update(target_ref="FEVIL")
    message = _broken(cis)
    assert message.startswith("Audit chain broken at event #3: its contents were edited")
    assert "(2 events before it intact)" in message


def test_an_edited_json_field(cis: Cis, five_events: None) -> None:
    event = AuditEvent.objects.get(seq=4)
    AuditEvent.objects.filter(pk=event.pk).update(after={**event.after, "name": "Changed"})
    assert "event #4: its contents were edited" in _broken(cis)


def test_an_event_rehashed_after_editing_breaks_the_next_link(cis: Cis, five_events: None) -> None:
    """Recomputing an edited event's own hash does not help: the next event no longer links."""
    from cis.audit.chain import event_hash
    from cis.audit.trail import _stored_fields  # the same fields verify() hashes

    event = AuditEvent.objects.get(seq=2)
    event.target_ref = "FEVIL"
    AuditEvent.objects.filter(pk=event.pk).update(
        target_ref="FEVIL", hash=event_hash(event.prev_hash, _stored_fields(event))
    )
    assert "event #3: its link to the previous event does not match" in _broken(cis)


def test_a_deleted_event(cis: Cis, five_events: None) -> None:
    AuditEvent.objects.filter(seq=2).delete()
    message = _broken(cis)
    assert message.startswith("Audit chain broken at event #2:")
    assert "deleted or the events were reordered" in message


def test_the_latest_event_deleted(cis: Cis, five_events: None) -> None:
    AuditEvent.objects.filter(seq=5).delete()
    message = _broken(cis)
    assert message.startswith("Audit chain broken at event #5:")
    assert "the latest events were deleted" in message


def test_reordered_events(cis: Cis, five_events: None) -> None:
    # Swap the order of events #2 and #3 (seq is unique, so through a spare number).
    AuditEvent.objects.filter(seq=2).update(seq=-1)
    AuditEvent.objects.filter(seq=3).update(seq=2)
    AuditEvent.objects.filter(seq=-1).update(seq=3)
    message = _broken(cis)
    assert message.startswith("Audit chain broken at event #2:")
    assert "reordered" in message


def test_json_output_names_the_broken_event(five_events: None) -> None:
    AuditEvent.objects.filter(seq=4).update(action="organisation.close")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("audit", "verify", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["intact"] is False
    assert result["events"] == 3
    assert result["broken"]["seq"] == 4
    assert result["broken"]["reason"] == "its contents were edited"


def test_json_output_when_intact(five_events: None) -> None:
    out = io.StringIO()
    call_command("audit", "verify", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"intact": True, "events": 5}
