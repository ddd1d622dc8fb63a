"""The audit trail: one chained event per change, and verify() finds any tampering."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction

from cis.audit.models import AuditEvent
from cis.audit.trail import record, verify
from cis.authz.policy import CONSOLE
from cis.core.errors import ProbableDuplicate
from cis.people.services import person_create
from tests.factories.directory import RegistrationAuthorityFactory

pytestmark = pytest.mark.django_db


def _events(n: int) -> list[AuditEvent]:
    seqs = []
    for i in range(n):
        with transaction.atomic():
            seqs.append(
                record(
                    actor=CONSOLE,
                    rule="test",
                    action="test.action",
                    target_type="thing",
                    target_ref=str(i),
                    after={"i": i, "when": dt.date(2026, 1, i + 1)},
                )
            )
    return list(AuditEvent.objects.filter(seq__in=seqs).order_by("seq"))


def test_events_are_chained_and_verify() -> None:
    events = _events(5)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[2].after == {"i": 2, "when": "2026-01-03"}
    assert events[2].at.tzinfo is not None
    assert events[1].prev_hash == events[0].hash
    assert verify() == (5, None)


def test_record_refuses_to_run_outside_a_transaction() -> None:
    # pytest-django wraps tests in a transaction; leave it to see the guard.
    with pytest.raises(RuntimeError):
        connection.in_atomic_block = False
        try:
            record(actor=CONSOLE, rule="r", action="a", target_type="t", target_ref="1")
        finally:
            connection.in_atomic_block = True


def test_an_edited_event_is_named() -> None:
    _events(4)
    AuditEvent.objects.filter(seq=3).update(after={"i": 99})
    count, broken = verify()
    assert broken is not None
    assert broken.seq == 3
    assert "edited" in broken.reason
    assert count == 2


def test_a_deleted_event_is_named() -> None:
    _events(4)
    AuditEvent.objects.filter(seq=2).delete()
    _, broken = verify()
    assert broken is not None
    assert broken.seq == 2
    assert "deleted" in broken.reason


def test_deleting_the_latest_events_is_detected() -> None:
    _events(4)
    AuditEvent.objects.filter(seq__gte=3).delete()
    _, broken = verify()
    assert broken is not None
    assert "latest events were deleted" in broken.reason


def test_reordered_events_are_detected() -> None:
    events = _events(4)
    # Swap the contents of events 2 and 3, keeping each row's position.
    a, b = events[1], events[2]
    AuditEvent.objects.filter(pk=a.pk).update(target_ref=b.target_ref, after=b.after)
    AuditEvent.objects.filter(pk=b.pk).update(target_ref=a.target_ref, after=a.after)
    _, broken = verify()
    assert broken is not None
    assert broken.seq == 2


def test_a_recomputed_hash_still_breaks_the_next_link() -> None:
    from cis.audit.chain import event_hash
    from cis.audit.trail import _stored_fields

    events = _events(3)
    target = AuditEvent.objects.get(seq=2)
    target.after = {"i": 42}
    target.hash = event_hash(target.prev_hash, _stored_fields(target))
    target.save()
    _, broken = verify()
    assert broken is not None
    assert broken.seq == 3
    assert events[2].prev_hash != target.hash


def test_a_service_writes_its_event_with_the_rule_and_a_refusal_writes_none() -> None:
    ra = RegistrationAuthorityFactory()
    before = AuditEvent.objects.count()
    person = person_create(
        actor=CONSOLE,
        given_name="Asha",
        family_name="Patel",
        date_of_birth=dt.date(1990, 2, 3),
        registered_ra=ra,
    )
    event = AuditEvent.objects.get(seq=before + 1)
    assert event.action == "person.create"
    assert event.rule == "console-operator"
    assert event.target_ref == person.user_id
    with pytest.raises(ProbableDuplicate):
        person_create(
            actor=CONSOLE,
            given_name="Asha",
            family_name="Patel",
            date_of_birth=dt.date(1990, 2, 3),
            registered_ra=ra,
        )
    assert AuditEvent.objects.count() == before + 1
    assert verify()[1] is None
