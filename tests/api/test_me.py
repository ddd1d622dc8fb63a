"""Self-service over the API: one's own record, and proving a new email or mobile."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core import mail

from cis.audit.models import AuditEvent
from cis.core import clock
from cis.notify.sms import MemorySmsSender
from cis.people.models import ContactVerification

from .conftest import Caller, World, assert_error, unchanged_database

ME = "/api/v1/me/"
START = "/api/v1/me/contact-verifications/"


def _confirm_url(pending_id: int) -> str:
    return f"{START}{pending_id}/confirm/"


def test_me_is_ones_own_record(world: World, call: Caller) -> None:
    body = call("holder", "get", ME).json()
    assert body["user_id"] == world.holder.user_id
    assert body["email"] == world.holder.email


def test_a_restricted_holder_still_sees_their_record(world: World, call: Caller) -> None:
    body = call("restricted", "get", ME).json()
    assert body["status"] == "restricted"


def test_a_closed_profile_is_signed_out(world: World, call: Caller) -> None:
    response = call("gone", "get", ME)
    assert response.status_code in (401, 403)


def _code_from_last_message() -> str:
    text = mail.outbox[-1].body if mail.outbox else MemorySmsSender.outbox[-1]["body"]
    found = re.search(r"\b(\d{6})\b", text)
    assert found
    return found.group(1)


def test_a_new_email_is_used_only_once_its_code_comes_back(
    world: World, call: Caller, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        started = call("holder", "post", START, {"channel": "email", "value": "Hana@NHS.net"})
    assert started.status_code == 201, started.json()
    assert started.json()["new_value"] == "Hana@nhs.net"
    assert mail.outbox[-1].to == ["Hana@nhs.net"]
    world.holder.refresh_from_db()
    assert world.holder.email != "Hana@nhs.net"

    confirmed = call(
        "holder", "post", _confirm_url(started.json()["id"]), {"code": _code_from_last_message()}
    )
    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["email"] == "Hana@nhs.net"
    assert confirmed.json()["email_verified_at"]
    event = AuditEvent.objects.get(action="person.update_contact")
    assert event.rule == "self-service"
    assert event.channel == "api"


def test_a_new_mobile_gets_its_code_by_text(
    world: World, call: Caller, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        started = call("holder", "post", START, {"channel": "mobile", "value": "07700 900999"})
    assert started.status_code == 201, started.json()
    assert MemorySmsSender.outbox[-1]["to"] == "+447700900999"
    confirmed = call(
        "holder", "post", _confirm_url(started.json()["id"]), {"code": _code_from_last_message()}
    )
    assert confirmed.json()["mobile"] == "+447700900999"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "email", "value": "not an email"}, "value"),
        ({"channel": "email", "value": "hana@nhs"}, "value"),
        ({"channel": "mobile", "value": "020 7946 0000"}, "value"),
        ({"channel": "mobile", "value": "hana@nhs.net"}, "value"),
        ({"channel": "fax", "value": "01632 960000"}, "channel"),
        ({"channel": "email"}, "value"),
    ],
)
def test_a_malformed_contact_changes_nothing(
    world: World, call: Caller, body: dict[str, Any], field: str
) -> None:
    with unchanged_database():
        response = call("holder", "post", START, body)
    assert_error(response, 400, "validation_failed", field)
    assert not mail.outbox
    assert not MemorySmsSender.outbox


def test_the_current_email_is_not_a_change(world: World, call: Caller) -> None:
    with unchanged_database():
        response = call("holder", "post", START, {"channel": "email", "value": world.holder.email})
    assert_error(response, 400, "validation_failed", "email")


def test_a_wrong_code_is_refused_and_counted(world: World, call: Caller) -> None:
    pending = call("holder", "post", START, {"channel": "email", "value": "h@nhs.net"}).json()
    response = call("holder", "post", _confirm_url(pending["id"]), {"code": "000000x"})
    body = assert_error(response, 400, "wrong_code")
    assert "attempts left" in body["detail"]
    assert ContactVerification.objects.get(pk=pending["id"]).attempts == 1
    world.holder.refresh_from_db()
    assert world.holder.email != "h@nhs.net"


def test_an_expired_code_is_a_409(world: World, call: Caller) -> None:
    pending = call("holder", "post", START, {"channel": "email", "value": "h@nhs.net"}).json()
    clock.travel(dt.timedelta(minutes=16))
    with unchanged_database():
        response = call("holder", "post", _confirm_url(pending["id"]), {"code": "123456"})
    assert_error(response, 409, "invalid_state")


def test_someone_elses_verification_cannot_be_confirmed(world: World, call: Caller) -> None:
    theirs = call("colleague", "post", START, {"channel": "email", "value": "c@nhs.net"}).json()
    with unchanged_database():
        response = call("holder", "post", _confirm_url(theirs["id"]), {"code": "123456"})
    assert_error(response, 409, "invalid_state")


def test_too_many_codes_in_an_hour_are_rate_limited(world: World, call: Caller) -> None:
    for n in range(5):
        ok = call("holder", "post", START, {"channel": "email", "value": f"h{n}@nhs.net"})
        assert ok.status_code == 201
    with unchanged_database():
        response = call("holder", "post", START, {"channel": "email", "value": "h9@nhs.net"})
    assert_error(response, 429, "rate_limited")


def test_a_wrong_code_is_audited_as_a_failed_attempt_without_the_code(
    world: World, call: Caller
) -> None:
    pending = call("holder", "post", START, {"channel": "email", "value": "h@nhs.net"}).json()
    response = call("holder", "post", _confirm_url(pending["id"]), {"code": "000000x"})
    assert_error(response, 400, "wrong_code")

    event = AuditEvent.objects.get(action="code.failed")
    assert event.actor_ref == world.holder.user_id
    assert (event.target_type, event.target_ref) == ("person", world.holder.user_id)
    assert event.after["refused"] == "person.update_contact"
    assert "attempts left" in event.after["reason"]
    assert event.rule == "wrong-code"
    assert "000000x" not in str(event.after)
