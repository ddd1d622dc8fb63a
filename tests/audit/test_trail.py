"""The audit trail: one sealed event per change, and verify() names any tampering."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from django.db import connection, transaction

from cis.audit import keys
from cis.audit.chain import event_seal
from cis.audit.models import AuditEvent, AuditHead
from cis.audit.trail import record, subject_of
from cis.audit.verify import verify
from cis.authz.policy import CONSOLE
from cis.core.errors import ProbableDuplicate
from cis.people.services import person_create
from tests.factories.directory import RegistrationAuthorityFactory

from .tamper import as_database_owner

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


def _fields(event: AuditEvent) -> dict[str, object]:
    from cis.audit.chain import SEALED_FIELDS

    values = {name: getattr(event, name) for name in SEALED_FIELDS}
    values["at"] = event.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return values


def test_events_are_sealed_with_a_key_and_chained() -> None:
    events = _events(5)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[2].after == {"i": 2, "when": "2026-01-03"}
    assert events[2].at.tzinfo is not None
    assert events[1].prev_hash == events[0].hash
    assert {e.key_id for e in events} == {"k1"}
    assert events[3].hash == event_seal(events[2].hash, _fields(events[3]))
    result = verify()
    assert result.intact and result.events == 5


def test_the_seal_is_not_the_public_recipe() -> None:
    """Nobody without the key can seal an event: plain SHA-256 of the same bytes differs."""
    from cis.audit.chain import sealed_body

    event = _events(1)[0]
    body = sealed_body(event.prev_hash, _fields(event))
    assert event.hash != hashlib.sha256(body).hexdigest()
    assert event.hash == keys.seal("k1", body)


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
    with as_database_owner():
        AuditEvent.objects.filter(seq=3).update(after={"i": 99})
    result = verify()
    assert result.problem is not None
    assert result.problem.seq == 3
    assert "seal does not match its contents" in result.problem.reason
    assert result.events == 2


def test_a_deleted_event_is_named() -> None:
    _events(4)
    with as_database_owner():
        AuditEvent.objects.filter(seq=2).delete()
    problem = verify().problem
    assert problem is not None
    assert problem.seq == 2
    assert "event #2 was deleted" in problem.reason


def test_deleting_the_latest_events_is_detected_by_the_head() -> None:
    _events(4)
    with as_database_owner():
        AuditEvent.objects.filter(seq__gte=3).delete()
    problem = verify().problem
    assert problem is not None
    assert "latest events were deleted" in problem.reason


def test_reordered_events_are_detected() -> None:
    events = _events(4)
    a, b = events[1], events[2]
    with as_database_owner():
        AuditEvent.objects.filter(pk=a.pk).update(target_ref=b.target_ref, after=b.after)
        AuditEvent.objects.filter(pk=b.pk).update(target_ref=a.target_ref, after=a.after)
    problem = verify().problem
    assert problem is not None
    assert problem.seq == 2


def test_an_event_rehashed_with_the_public_recipe_is_caught_at_itself() -> None:
    """The old weakness: re-hashing an edited event (and everything after) with plain SHA-256."""
    events = _events(3)
    prev = events[0].hash
    with as_database_owner():
        for event in events[1:]:
            event.target_ref = "FEVIL"
            body = json.dumps(_fields(event), sort_keys=True, default=str)
            event.prev_hash = prev
            event.hash = hashlib.sha256(f"{prev}|{body}".encode()).hexdigest()
            AuditEvent.objects.filter(pk=event.pk).update(
                target_ref="FEVIL", prev_hash=event.prev_hash, hash=event.hash
            )
            prev = event.hash
        AuditHead.objects.filter(id=1).update(hash=prev)
    problem = verify().problem
    assert problem is not None
    assert problem.seq == 2
    assert "written without the audit key" in problem.reason


def test_events_name_the_person_they_are_about() -> None:
    assert subject_of("person", "123456789012") == "123456789012"
    assert subject_of("smartcard", "CHIP1", {"holder": "123456789012"}) == "123456789012"
    assert subject_of("right", "4", {}, {"person": "123456789013"}) == "123456789013"
    assert subject_of("certificate", "ab", {"subject": "CN=Someone"}) == ""


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
    assert event.subject_ref == person.user_id
    with pytest.raises(ProbableDuplicate):
        person_create(
            actor=CONSOLE,
            given_name="Asha",
            family_name="Patel",
            date_of_birth=dt.date(1990, 2, 3),
            registered_ra=ra,
        )
    assert AuditEvent.objects.count() == before + 1
    assert verify().intact


def test_a_rotated_key_seals_new_events_and_the_old_still_verify() -> None:
    _events(2)
    assert keys.rotate() == "k2"
    _events(2)
    assert list(AuditEvent.objects.order_by("seq").values_list("key_id", flat=True)) == [
        "k1", "k1", "k2", "k2",
    ]  # fmt: skip
    assert verify().intact
