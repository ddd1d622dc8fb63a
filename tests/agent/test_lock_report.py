"""A card reports itself locked with its own key, with no sign-in; forgeries and replays fail."""

from __future__ import annotations

import base64
import contextlib
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from cis.audit.models import AuditEvent
from cis.audit.verify import verify
from cis.smartcards.models import Smartcard
from cis_agent import cli, login
from cis_card.base import Card, CardError
from cis_wire import messages

from .conftest import Agent, Cast

pytestmark = pytest.mark.django_db


def _challenge(client: Client) -> str:
    return str(client.post("/api/v1/agent/challenge/").json()["challenge"])


def _report(client: Client, chip_serial: str, challenge: str, mac: bytes) -> Any:
    return client.post(
        f"/api/v1/cards/{chip_serial}/lock-report/",
        {"challenge": challenge, "mac": base64.b64encode(mac).decode()},
        content_type="application/json",
    )


def _mac(card: Card, challenge: str, chip_serial: str | None = None) -> bytes:
    message = messages.lock_report_message(
        challenge=challenge, chip_serial=chip_serial or card.serial()
    )
    mac = card.lock_report_mac(message)
    assert mac is not None, "personalisation wrote a lock-report key to the card"
    return mac


def _lock(card: Card) -> None:
    """Three wrong passcodes on the card alone, as at a workstation that cannot reach CIS."""
    for _ in range(3):
        with contextlib.suppress(CardError):
            card.verify_passcode("0000")


def _status(card: Card) -> str:
    return Smartcard.objects.get(chip_serial=card.serial()).status


def test_three_wrong_passcodes_at_sign_in_lock_the_card_in_cis_with_no_sign_in(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(login, "transport", cli.transport)
    card = issued_card(cast.holder)
    for expected in (4, 4, 5):
        tried = agent.run("sign-in", card, "--passcode-stdin", input="0000\n")
        assert tried.exit_code == expected, tried.stderr
    assert "locked" in tried.stderr
    assert _status(card) == "locked"
    event = AuditEvent.objects.filter(action="card.report_locked").get()
    assert event.actor_ref == cast.holder.user_id
    assert event.after["reported_by"] == "card"
    # The LSA sees it on "Locked cards" (the API under the page).
    lsa = Client()
    lsa.force_login(cast.lsa)
    locked = lsa.get("/api/v1/cards/?status=locked").json()
    assert [c["chip_serial"] for c in locked] == [card.serial()]
    assert verify().intact


def test_status_reports_a_locked_card_without_a_sign_in_and_again_changes_nothing(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card]
) -> None:
    card = issued_card(cast.holder)
    _lock(card)
    assert card.is_locked()
    assert _status(card) == "active", "nothing told CIS yet (the lock happened offline)"
    first = agent.run("status", card)
    assert first.exit_code == 0, first.stderr
    assert "CIS: locked" in first.stdout
    second = agent.run("status", card)
    assert second.exit_code == 0, second.stderr
    assert AuditEvent.objects.filter(action="card.report_locked").count() == 1, "idempotent"
    assert verify().intact


@pytest.fixture
def holder_card(issued_card: Callable[..., Card], cast: Cast) -> Card:
    return issued_card(cast.holder)


@pytest.mark.parametrize("kind", ["virtual"], indirect=True)
def test_a_forged_report_is_refused_and_changes_nothing(holder_card: Card, client: Client) -> None:
    challenge = _challenge(client)
    forged = _report(client, holder_card.serial(), challenge, secrets.token_bytes(32))
    assert forged.status_code == 403
    assert _status(holder_card) == "active"
    assert not AuditEvent.objects.filter(action="card.report_locked").exists()


@pytest.mark.parametrize("kind", ["virtual"], indirect=True)
def test_one_card_cannot_report_another(
    holder_card: Card, issued_card: Callable[..., Card], cast: Cast, client: Client
) -> None:
    mine = issued_card(cast.branch_holder)
    challenge = _challenge(client)
    # Bob's card MACs a report naming Harriet's chip: his key is not hers.
    answer = _report(
        client, holder_card.serial(), challenge, _mac(mine, challenge, holder_card.serial())
    )
    assert answer.status_code == 403
    assert _status(holder_card) == "active"


@pytest.mark.parametrize("kind", ["virtual"], indirect=True)
# The agent's in-process WSGI calls close connections as a server's requests do: no test-wide
# transaction for them to close under the test client.
@pytest.mark.django_db(transaction=True)
def test_a_replayed_report_is_refused_even_after_an_unlock(
    holder_card: Card, client: Client, agent: Agent, cast: Cast, issued_card: Callable[..., Card]
) -> None:
    challenge = _challenge(client)
    mac = _mac(holder_card, challenge)
    assert _report(client, holder_card.serial(), challenge, mac).status_code == 200
    assert _status(holder_card) == "locked"
    # The LSA unlocks it (holder present); the old report, sent again, must not re-lock it.
    _lock(holder_card)
    agent.login(issued_card(cast.lsa))
    unlocked = agent.run("unlock", holder_card, "--passcode-stdin", input="8642\n")
    assert unlocked.exit_code == 0, unlocked.stderr
    assert _status(holder_card) == "active"
    replay = _report(client, holder_card.serial(), challenge, mac)
    assert replay.status_code == 403
    assert _status(holder_card) == "active"
    assert verify().intact


@pytest.mark.parametrize("kind", ["virtual"], indirect=True)
def test_an_unknown_chip_gets_the_same_answer_as_a_forged_report(
    holder_card: Card, client: Client
) -> None:
    forged = _report(client, holder_card.serial(), _challenge(client), secrets.token_bytes(32))
    unknown = _report(client, "VC00000000000000", _challenge(client), secrets.token_bytes(32))
    assert (forged.status_code, forged.json()) == (unknown.status_code, unknown.json())


@pytest.mark.parametrize("kind", ["pkcs11"], indirect=True)
def test_the_lock_report_key_cannot_be_read_back_from_a_real_card(
    softhsm: None, issued_card: Callable[..., Card], cast: Cast, make_blank: Callable[[str], Card]
) -> None:
    from pkcs11 import Attribute, ObjectClass  # noqa: PLC0415 - only this test needs it
    from pkcs11 import exceptions as p11e  # noqa: PLC0415

    from cis_card.pkcs11card import LOCK_REPORT_LABEL, Pkcs11Card  # noqa: PLC0415

    card = issued_card(cast.holder)
    assert isinstance(card, Pkcs11Card)
    with card.token.open() as session:
        key = session.get_key(object_class=ObjectClass.SECRET_KEY, label=LOCK_REPORT_LABEL)
        with pytest.raises(p11e.AttributeSensitive):
            key[Attribute.VALUE]  # noqa: B018 - reading it is the test
