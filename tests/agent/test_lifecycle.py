"""The RA's card steps through the agent: replace, repair, clear for reuse and issue again."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cis.audit.models import AuditEvent
from cis.audit.verify import verify
from cis.pki.models import Certificate
from cis.smartcards.models import AgentToken, Smartcard
from cis_card.base import Card

from .conftest import PASSCODE, Agent, Cast

pytestmark = pytest.mark.django_db


def test_replace_cancels_the_old_card_and_issues_the_new_one(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card], new_card: Callable[[], Card]
) -> None:
    old = issued_card(cast.holder)
    agent.login(old)  # the holder's agent sign-in on the old card ends with it
    holder_token = AgentToken.objects.get(card__chip_serial=old.serial())
    agent("logout", "--server", "http://testserver")
    agent.login(issued_card(cast.agent))
    blank = new_card()
    result = agent.run(
        "replace",
        blank,
        "--old",
        old.serial(),
        "--reason",
        "damaged",
        "--passcode-stdin",
        input="1357\n",
    )
    assert result.exit_code == 0, result.stderr
    old_row = Smartcard.objects.get(chip_serial=old.serial())
    new_row = Smartcard.objects.get(chip_serial=blank.serial())
    assert (old_row.status, old_row.cancel_reason) == ("cancelled", "damaged")
    assert new_row.status == "active"
    assert new_row.replaces == old_row
    assert Certificate.objects.get(card_link__card=old_row).revocation_reason == (
        "cessation_of_operation"
    )
    holder_token.refresh_from_db()
    assert holder_token.revoked_at is not None, "sessions using the cancelled card ended"
    again = agent.run(
        "replace",
        new_card(),
        "--old",
        old.serial(),
        "--reason",
        "damaged",
        "--passcode-stdin",
        input="1357\n",
    )
    assert again.exit_code == 8


def test_repair_re_personalises_the_card_and_retires_its_old_certificate(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card]
) -> None:
    card = issued_card(cast.holder)
    before = Certificate.objects.get(card_link__card__chip_serial=card.serial())
    agent.login(issued_card(cast.agent))
    result = agent.run("repair", card, "--passcode-stdin", input="9988\n")
    assert result.exit_code == 0, result.stderr
    before.refresh_from_db()
    assert before.status == "superseded"
    row = Smartcard.objects.get(chip_serial=card.serial())
    assert row.status == "active"
    assert not row.so_pin_rotation_due
    assert len(card.certificates()) == 1
    agent("logout", "--server", "http://testserver")
    agent.login(card, "9988")


def test_an_lsa_cannot_repair_or_clear(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card]
) -> None:
    card = issued_card(cast.holder)
    agent.login(issued_card(cast.lsa))
    assert agent.run("repair", card, "--passcode-stdin", input="9988\n").exit_code == 7
    assert agent.run("clear", card).exit_code == 7
    agent.login(card)
    assert card.certificates()


def test_clear_for_reuse_then_issue_to_someone_else(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card]
) -> None:
    card = issued_card(cast.holder)
    cert = Certificate.objects.get(card_link__card__chip_serial=card.serial())
    agent.login(issued_card(cast.agent))
    cleared = agent.run("clear", card)
    assert cleared.exit_code == 0, cleared.stderr
    assert not card.is_initialised()
    cert.refresh_from_db()
    assert cert.status == "revoked"
    assert Smartcard.objects.get(chip_serial=card.serial()).status == "cleared"
    reissued = agent.run(
        "issue", card, "--holder", cast.branch_holder.user_id, "--passcode-stdin", input="1212\n"
    )
    assert reissued.exit_code == 0, reissued.stderr
    rows = Smartcard.objects.filter(chip_serial=card.serial()).order_by("issued_at")
    assert [(r.holder, r.status) for r in rows] == [
        (cast.holder, "cleared"),
        (cast.branch_holder, "active"),
    ]
    steps = set(AuditEvent.objects.filter(target_type="smartcard").values_list("action", flat=True))
    assert {"card.issue", "card.clear", "agent.sign_in"} <= steps
    assert verify().intact


def test_status_without_a_server_reads_only_the_card(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card]
) -> None:
    card = issued_card(cast.holder)
    result = agent("status", "--card", card.spec, "--json")
    assert result.exit_code == 0, result.stderr
    assert '"locked": false' in result.stdout
    assert '"cis": null' in result.stdout
    assert PASSCODE not in result.stdout


def test_new_virtual_card_makes_a_blank_card(agent: Agent, tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "blank.card"
    result = agent("new-virtual-card", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"virtual:{path}")
    again = agent("new-virtual-card", str(path))
    assert again.exit_code == 6
