"""Certificate expiry reminders at 90, 30 and 7 days, each sent once."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command

from cis.core import clock
from cis.jobs.reminders import certificate_expiry_reminders, certificate_model, threshold_for
from cis.people.models import Person
from tests.factories.directory import PersonFactory

from .conftest import Mailbox

pytestmark = pytest.mark.django_db


def issue(person: Person, *, days_left: float, serial: str, status: str = "valid") -> Any:
    from cis.pki import authority
    from cis.pki.models import Certificate

    now = clock.now()
    if authority.active_row("issuing") is None:
        # A real CA, so that the CRL job running alongside the reminders has one to sign with.
        call_command("ca", "init", stdout=io.StringIO())
    ca = authority.active_row("issuing")
    return Certificate.objects.create(
        issuer=ca,
        serial_hex=serial,
        person=person,
        subject=f"CN={person.full_name}",
        not_before=now - dt.timedelta(days=700),
        not_after=now + dt.timedelta(days=days_left),
        status=status,
        revoked_at=None if status == "valid" else now,
        key_algorithm="ec-p256",
        spki_sha256="0" * 64,
        der=b"\x30",
    )


def send() -> None:
    call_command("jobs", "run", stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.parametrize(
    ("days_left", "threshold"),
    [(100, None), (90, 90), (31, 90), (30, 30), (8, 30), (7, 7), (1, 7), (0, 7)],
)
def test_threshold_for(days_left: int, threshold: int | None) -> None:
    assert threshold_for(days_left) == threshold


def test_the_pki_certificate_model_is_read() -> None:
    assert certificate_model() is not None


def test_reminders_at_90_30_and_7_days_each_once(smtp: Mailbox) -> None:
    holder = PersonFactory(given_name="Rene")
    issue(holder, days_left=95, serial="0a0b")
    send()
    assert smtp.messages == []
    for step, expected_threshold in ((6, 90), (1, None), (60, 30), (23, 7), (1, None)):
        clock.travel(dt.timedelta(days=step))
        send()
        keys = [key for key, _ in smtp.deliveries()]
        if expected_threshold is None:
            assert len(keys) == len(set(keys)), "a reminder went out twice"
            continue
        assert keys[-1].endswith(f":expiry:{expected_threshold}")
    assert [key.rsplit(":", 1)[1] for key, _ in smtp.deliveries()] == ["90", "30", "7"]
    assert {rcpt for _, rcpt in smtp.deliveries()} == {holder.email}
    assert "renew it yourself" in smtp.messages[0].get_payload()


def test_no_reminder_for_revoked_expired_or_closed(smtp: Mailbox) -> None:
    issue(PersonFactory(), days_left=20, serial="01", status="revoked")
    issue(PersonFactory(), days_left=-2, serial="02")
    issue(PersonFactory(status="closed"), days_left=20, serial="03")
    issue(PersonFactory(email=""), days_left=20, serial="04")
    result = certificate_expiry_reminders()
    assert result.queued == 0
    send()
    assert smtp.messages == []


def test_a_missed_earlier_reminder_is_not_sent_late(smtp: Mailbox) -> None:
    issue(PersonFactory(), days_left=20, serial="05")
    send()
    assert [key.rsplit(":", 1)[1] for key, _ in smtp.deliveries()] == ["30"]
