"""The console operator's card command, and the demo personas' cards."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from cis.smartcards.models import Smartcard
from cis.smartcards.provisioning import ensure_persona_cards
from cis_card.spec import open_card
from tests.authz.world import World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(ca: object) -> World:
    return build_world()


def test_cis_card_issue_makes_and_issues_a_virtual_card(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = world.targets["in_scope"]
    spec = f"virtual:{tmp_path / 'holder.card'}"
    monkeypatch.setattr("sys.stdin", io.StringIO("2468\n"))
    out = io.StringIO()
    call_command(
        "card", "issue", "--person", holder.user_id, "--card", spec, "--passcode-stdin", stdout=out
    )
    assert "issued to" in out.getvalue()
    open_card(spec).verify_passcode("2468")
    with pytest.raises(CommandError, match="No person"):
        call_command(
            "card", "issue", "--person", "000000000000", "--card", spec, "--passcode-stdin"
        )
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    with pytest.raises(CommandError, match="4 to 8 characters"):
        call_command(
            "card",
            "issue",
            "--person",
            holder.user_id,
            "--card",
            f"virtual:{tmp_path / 'other.card'}",
            "--passcode-stdin",
        )


def test_persona_cards_are_issued_once(world: World, tmp_path: Path) -> None:
    records = [
        {
            "user_id": p.user_id,
            "card": f"virtual:{tmp_path / 'cards' / f'{p.user_id}.card'}",
            "passcode": "2468",
        }
        for p in (world.actors["lsa"], world.targets["in_scope"])
    ]
    first = ensure_persona_cards(records)
    again = ensure_persona_cards(records)
    assert first == again
    assert Smartcard.objects.filter(status="active").count() == 2


def test_cis_card_issue_without_a_terminal_says_how_to_give_the_passcode(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = world.targets["in_scope"]
    spec = f"virtual:{tmp_path / 'holder.card'}"
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal, and nothing in it
    with pytest.raises(CommandError, match="No terminal .* give --passcode-stdin"):
        call_command("card", "issue", "--person", holder.user_id, "--card", spec)
    with pytest.raises(CommandError, match="No passcode given"):
        call_command(
            "card", "issue", "--person", holder.user_id, "--card", spec, "--passcode-stdin"
        )
    assert not Smartcard.objects.filter(holder=holder).exists()


def test_cis_card_issue_with_a_card_it_cannot_use_says_why(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = world.targets["in_scope"]
    monkeypatch.setattr("sys.stdin", io.StringIO("2468\n"))
    with pytest.raises(CommandError, match="is not a card SPEC: use virtual:PATH"):
        call_command(
            "card", "issue", "--person", holder.user_id, "--card", "floppy:A", "--passcode-stdin"
        )
    assert not Smartcard.objects.filter(holder=holder).exists()
