"""Logs: one JSON object a line naming the request, no secret in them, and refusals recorded."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from cis.audit import refusals
from cis.audit.models import AuditEvent
from cis.audit.sentences import event_sentence
from cis.audit.verify import verify
from cis.core import logs
from tests.factories.directory import PersonFactory
from tests.logcapture import captured_logs, log_entries


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    with captured_logs() as stream:
        yield stream


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("passcode=2468 accepted", "2468"),
        ("unlock with code 482913", "482913"),
        ('{"code": "482913", "channel": "sms"}', "482913"),
        ("POST /oidc/token grant_type=authorization_code&code=AbC-123_xyz&state=s", "AbC-123_xyz"),
        ("Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig", "eyJhbGciOiJFUzI1NiJ9"),
        ("client_secret: 'Zm9vYmFyYmF6cXV4cXV1eA'", "Zm9vYmFyYmF6cXV4cXV1eA"),
        ("so_pin=87654321", "87654321"),
        ("refresh_token=rt-0123456789abcdef", "rt-0123456789abcdef"),
        ("agent_token Q29kZUluVGhlTG9ncw", "Q29kZUluVGhlTG9ncw"),
        ("Not Found: /signin/ticket/T1ck3tS3cr3t/", "T1ck3tS3cr3t"),
    ],
)
def test_a_secret_after_its_name_is_taken_out(text: str, secret: str) -> None:
    cleaned = logs.redact(text)
    assert secret not in cleaned
    assert logs.REDACTED in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "ods_code=FLM49 moved under FHO01",
        "a code was sent to the holder's mobile",
        "the token expired",
        "GET /healthz 200",
    ],
)
def test_ordinary_words_and_identifiers_stay(text: str) -> None:
    assert logs.redact(text) == text


def test_each_record_is_one_json_line_with_its_exception_inside(
    captured: io.StringIO,
) -> None:
    log = logging.getLogger("cis.tests.logs")
    try:
        raise ValueError("two\nlines, code=135790")
    except ValueError:
        log.exception("failed to do %s", "something", extra={"card": "SC1", "passcode": "1111"})
    (entry,) = log_entries(captured)
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "cis.tests.logs"
    assert entry["message"] == "failed to do something"
    assert entry["card"] == "SC1"
    assert entry["passcode"] == logs.REDACTED
    assert "ValueError" in str(entry["exception"])
    assert "135790" not in captured.getvalue()
    assert captured.getvalue().count("\n") == 1


def test_the_format_is_chosen_by_setting() -> None:
    assert settings.LOGGING["handlers"]["console"]["formatter"] == settings.CIS_LOG_FORMAT
    text = logs.logging_config(log_format="text", level="INFO")
    assert text["handlers"]["console"]["formatter"] == "text"
    with pytest.raises(ValueError, match="json or text"):
        logs.logging_config(log_format="xml", level="INFO")


def _refused(client: APIClient, someone: str) -> str:
    """A request the policy refuses (someone's record, without a right): its request id."""
    response = client.get(f"/api/v1/people/{someone}/")
    assert response.status_code == 404  # out of sight answers like absent
    return str(response["X-Request-ID"])


def test_a_refusal_is_logged_and_audited_under_the_requests_id(
    db: None, captured: io.StringIO
) -> None:
    nobody, someone = PersonFactory(), PersonFactory()
    client = APIClient()
    client.force_login(nobody)
    request_id = _refused(client, someone.user_id)

    event = AuditEvent.objects.get(action=refusals.ACCESS_REFUSED)
    assert event.actor_ref == nobody.user_id
    assert (event.target_type, event.target_ref) == ("person", someone.user_id)
    assert event.subject_ref == someone.user_id
    assert event.after["refused"] == "person.view"
    assert event.after["reason"]
    assert event.correlation_id == request_id
    assert event.channel == "api"
    assert f"was refused permission to see {someone.user_id}." in event_sentence(event)
    logged = [e for e in log_entries(captured) if e["logger"] == "cis.audit.refusals"]
    assert len(logged) == 1
    assert logged[0]["correlation_id"] == request_id
    assert logged[0]["actor"] == nobody.user_id
    assert verify().intact


def test_refusals_cannot_flood_the_trail(db: None, captured: io.StringIO, settings: object) -> None:
    settings.CIS_REFUSALS_RECORDED_PER_MINUTE = 3  # type: ignore[attr-defined]
    nobody, someone, other = PersonFactory(), PersonFactory(), PersonFactory()
    client = APIClient()
    client.force_login(nobody)
    for _ in range(10):
        _refused(client, someone.user_id)

    events = list(AuditEvent.objects.filter(action=refusals.ACCESS_REFUSED))
    assert [e.rule for e in events] == ["refused"] * 3 + ["rate-limit:summary"]
    assert "not recorded one by one" in events[-1].after["summary"]
    warnings = [e for e in log_entries(captured) if e["logger"] == "cis.audit.refusals"]
    assert len([e for e in warnings if e["level"] == "WARNING"]) == 4

    # The limit is the actor's own: someone else's refusals are still recorded.
    second = APIClient()
    second.force_login(other)
    _refused(second, someone.user_id)
    assert AuditEvent.objects.filter(action=refusals.ACCESS_REFUSED, actor_ref=other.user_id)


def test_a_refusal_outside_a_request_is_logged_not_audited(db: None, captured: io.StringIO) -> None:
    from cis.authz.actions import Action
    from cis.authz.policy import require
    from cis.core.errors import NotPermitted

    nobody, someone = PersonFactory(), PersonFactory()
    with pytest.raises(NotPermitted):
        require(nobody, Action.PERSON_VIEW, someone)
    assert not AuditEvent.objects.filter(action=refusals.ACCESS_REFUSED).exists()
    (entry,) = [e for e in log_entries(captured) if e["logger"] == "cis.audit.refusals"]
    assert entry["refused"] == "person.view"
    assert "correlation_id" not in entry
