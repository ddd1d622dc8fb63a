"""`cis demo --no-serve`: the whole preparation, the personas file, and the CA step either way."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from cis.demo import cast
from cis.demo.management.commands import demo as demo_command
from cis.demo.world import BuildReport
from cis.people.models import Person
from cis.rights.models import Right, RightGrant
from tests.cli.conftest import counts

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = {"name", "role", "user_id", "card", "passcode"}
ROLES = {label for _, label in Right.choices} | {"Card holder"}


def _demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", "--no-serve", *args, stdout=out)
    return out.getvalue()


def _personas() -> list[dict[str, Any]]:
    return list(json.loads((Path(settings.DATA_DIR) / "demo-personas.json").read_text()))


def test_demo_writes_a_persona_file_with_the_documented_fields() -> None:
    out = _demo()
    path = Path(settings.DATA_DIR) / "demo-personas.json"
    assert str(path) in out
    assert "http://127.0.0.1:8000/" in out
    assert "Not serving (--no-serve)" in out
    personas = _personas()
    assert len(personas) == len(cast.PERSONAS)
    for persona in personas:
        assert persona.keys() >= FIELDS
        person = Person.objects.get(user_id=persona["user_id"])
        assert persona["name"] == person.full_name
        assert persona["role"] in ROLES
        if persona["card_state"] == "none":
            assert persona["card"] is None  # a new starter: no card yet
        else:
            assert persona["card"] == (
                f"virtual:{Path(settings.DATA_DIR).resolve()}/cards/{person.user_id}.card"
            )
        assert re.fullmatch(r"[0-9]{4,8}", persona["passcode"])
        assert persona["name"] in out
        assert persona["user_id"] in out
    # One persona per right, each holding that right; and the plain card holders hold none.
    assert {p["role"] for p in personas} == ROLES
    for persona in personas:
        held = set(
            RightGrant.objects.filter(person__user_id=persona["user_id"]).values_list(
                "right", flat=True
            )
        )
        assert held == ({persona["right"]} if persona["right"] else set())
    _the_lsas_pharmacy_shows_every_card_state(personas)
    for journey in cast.JOURNEYS:
        assert journey.title in out
        assert journey.who in out


def _the_lsas_pharmacy_shows_every_card_state(personas: list[dict[str, Any]]) -> None:
    """At Priya Shah's branch: cards in and past their renewal window, a locked one, a holder
    with no card yet, an RPA and a temporary-access person; and blank cards for the RA."""
    import datetime as dt

    from cis.core import clock
    from cis.smartcards.models import Smartcard
    from cis.smartcards.services.common import current_link
    from cis_card.virtual import VirtualCard

    by_name = {p["name"]: p for p in personas}
    now = clock.now()

    def card_of(name: str) -> Smartcard:
        return Smartcard.objects.get(holder__user_id=by_name[name]["user_id"])

    def expires(name: str) -> dt.datetime:
        link = current_link(card_of(name))
        assert link is not None
        return link.certificate.not_after

    renewal = expires("Gareth Lloyd") - now
    assert dt.timedelta(days=1) < renewal < dt.timedelta(days=90)
    assert expires("Chloe Barker") < now
    assert card_of("Megan Holt").status == "locked"
    megan = VirtualCard(Path(by_name["Megan Holt"]["card"].removeprefix("virtual:")))
    assert megan.is_locked()
    assert not Smartcard.objects.filter(holder__user_id=by_name["Sam Whitworth"]["user_id"])
    assert by_name["Sam Whitworth"]["card"] is None
    kinds = set(
        Person.objects.filter(assignments__position__organisation__ods_code="FLM49").values_list(
            "kind", flat=True
        )
    )
    assert {"person", "rpa", "temporary"} <= kinds
    for number in range(1, cast.BLANK_CARDS + 1):
        blank = VirtualCard(Path(settings.DATA_DIR) / "cards" / f"blank-{number}.card")
        assert not blank.is_initialised()


def test_demo_twice_adds_nothing_and_says_so() -> None:
    _demo()
    first = counts()
    personas = _personas()
    out = _demo()
    assert "The demo world is already in place: nothing to add." in out
    assert counts() == first
    assert _personas() == personas


@pytest.fixture
def no_world(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CA step on its own: the world and its personas stubbed out."""
    monkeypatch.setattr(demo_command, "build_world", BuildReport)
    monkeypatch.setattr(
        demo_command,
        "persona_records",
        lambda: [{"name": "A Persona", "role": "Card holder", "user_id": "100000000099"}],
    )
    monkeypatch.setattr(demo_command, "ensure_demo_cards", lambda records: [])


def test_demo_runs_ca_init_when_there_is_one(
    monkeypatch: pytest.MonkeyPatch, no_world: None
) -> None:
    calls: list[tuple[str, ...]] = []
    real_call_command = demo_command.call_command

    def call(name: str, *args: str, **options: Any) -> None:
        if name == "ca":
            calls.append((name, *args))
            if len(calls) > 1:
                raise CommandError("A certificate authority already exists.")
            return
        real_call_command(name, *args, **options)

    monkeypatch.setattr(demo_command, "call_command", call)
    _demo()
    out = _demo()  # a second run carries on past a CA that already exists
    assert calls == [("ca", "init"), ("ca", "init")]
    assert "Certificate authority: A certificate authority already exists." in out
