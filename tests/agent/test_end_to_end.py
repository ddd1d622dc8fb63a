"""Every card step through `cis-agent`, over the API, against virtual cards and SoftHSM2 tokens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from cis.audit.verify import verify
from cis.core import clock
from cis.notify.sms import MemorySmsSender
from cis.pki.models import Certificate
from cis.smartcards.models import Smartcard
from cis_card.base import Card

from .conftest import PASSCODE, Agent, Cast, last_code

pytestmark = pytest.mark.django_db


def test_an_ra_agent_issues_a_card_the_holder_signs_in_with_it(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card], new_card: Callable[[], Card]
) -> None:
    operator = issued_card(cast.agent)
    agent.login(operator)
    blank = new_card()
    result = agent.run(
        "issue", blank, "--holder", cast.holder.user_id, "--passcode-stdin", input="1357\n"
    )
    assert result.exit_code == 0, result.stderr
    assert "Issued card" in result.stdout
    card = Smartcard.objects.get(chip_serial=blank.serial())
    assert card.holder == cast.holder
    assert card.status == "active"
    cert = Certificate.objects.get(card_link__card=card)
    assert cert.status == "valid"
    assert blank.certificates()[0].serial_hex.lstrip("0") == cert.serial_hex.lstrip("0")
    # The holder signs in with the new card and sees it.
    agent.login(blank, "1357")
    status = agent.run("status", blank)
    assert status.exit_code == 0, status.stderr
    assert "CIS: active" in status.stdout
    assert verify().intact


def test_change_passcode_then_three_wrong_passcodes_lock_the_card_and_cis_shows_it(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card]
) -> None:
    card = issued_card(cast.holder)
    agent.login(card)
    changed = agent.run("change-passcode", card, "--passcode-stdin", input=f"{PASSCODE}\n9753\n")
    assert changed.exit_code == 0, changed.stderr
    for expected in (4, 4, 5):
        wrong = agent.run("change-passcode", card, "--passcode-stdin", input="0000\n1111\n")
        assert wrong.exit_code == expected, wrong.stderr
    assert "locked" in wrong.stderr
    assert Smartcard.objects.get(chip_serial=card.serial()).status == "locked"
    login = agent.run("login", card, "--passcode-stdin", input="9753\n")
    assert login.exit_code == 5
    errors = [line for line in login.stderr.splitlines() if line.startswith("cis-agent:")]
    assert len(errors) == 1, "one line, one reason"


def test_assisted_unlock_by_an_lsa_with_the_holder_present(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card]
) -> None:
    card = issued_card(cast.holder)
    for _ in range(3):
        card_try = agent.run("login", card, "--passcode-stdin", input="0000\n")
    assert card_try.exit_code == 5
    lsa_card = issued_card(cast.lsa)
    agent.login(lsa_card)
    status = agent.run("status", card)  # reports the lock with the LSA's sign-in
    assert status.exit_code == 0
    row = Smartcard.objects.get(chip_serial=card.serial())
    assert row.status == "locked"
    sealed_before = row.so_pin_sealed
    unlocked = agent.run("unlock", card, "--passcode-stdin", input="8642\n")
    assert unlocked.exit_code == 0, unlocked.stderr
    row.refresh_from_db()
    assert row.status == "active"
    assert row.so_pin_sealed != sealed_before, "the SO PIN was rotated after use"
    assert not row.so_pin_rotation_due
    agent.login(card, "8642")


def test_self_unlock_with_a_one_time_code(
    agent: Agent,
    cast: Cast,
    issued_card: Callable[..., Card],
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    card = issued_card(cast.holder)
    for _ in range(3):
        agent.run("login", card, "--passcode-stdin", input="0000\n")
    assert card.is_locked()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        sent = agent.run("unlock", card, "--self", "--send-code-only")
    assert sent.exit_code == 0, sent.stderr
    assert "*******0123" in sent.stderr
    code = last_code(MemorySmsSender.outbox)
    wrong = agent.run(
        "unlock", card, "--self", "--code", "000000", "--passcode-stdin", input="5555\n"
    )
    assert wrong.exit_code == 4
    assert "4 attempts left" in wrong.stderr
    done = agent.run("unlock", card, "--self", "--code", code, "--passcode-stdin", input="5555\n")
    assert done.exit_code == 0, done.stderr
    assert not card.is_locked()
    agent.login(card, "5555")
    again = agent.run("unlock", card, "--self", "--code", code, "--passcode-stdin", input="6666\n")
    assert again.exit_code == 8
    assert "already been used" in again.stderr


def test_renewal_in_the_window_supersedes_the_old_certificate_once_the_new_is_on_the_card(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card]
) -> None:
    card = issued_card(cast.holder)
    early = agent.run("renew", card, "--passcode-stdin", input=f"{PASSCODE}\n")
    assert early.exit_code == 8
    assert "can be renewed from" in early.stderr
    old = Certificate.objects.get(card_link__card__chip_serial=card.serial())
    clock.travel(old.not_after - clock.now() - dt.timedelta(days=30))
    agent("logout", "--server", "http://testserver")
    renewed = agent.run("renew", card, "--passcode-stdin", input=f"{PASSCODE}\n")
    assert renewed.exit_code == 0, renewed.stderr
    old.refresh_from_db()
    assert old.status == "superseded"
    new = Certificate.objects.get(card_link__card__chip_serial=card.serial(), status="valid")
    assert new.not_after > old.not_after
    assert [c.serial_hex.lstrip("0") for c in card.certificates()] == [new.serial_hex.lstrip("0")]
    agent("logout", "--server", "http://testserver")
    agent.login(card)
