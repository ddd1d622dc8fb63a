"""Cards for the agent's tests: virtual cards in a temporary folder and SoftHSM2 tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cis_card.base import Card
from cis_card.spec import open_card
from cis_card.virtual import VirtualCard

from . import tokens

FAST_KDF = {"n": 2**12, "r": 8, "p": 1}


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> None:
    if not tokens.softhsm_available():
        pytest.skip("SoftHSM2 is not installed (make system-deps installs it)")
    tokens.ensure_config(tmp_path_factory.mktemp("softhsm"))


@pytest.fixture(params=["virtual", "pkcs11"])
def blank_card(request: pytest.FixtureRequest, tmp_path: Path) -> Card:
    """A blank card of each kind, as it leaves the factory with the transport SO PIN."""
    if request.param == "virtual":
        return VirtualCard.create_blank(
            tmp_path / "card.json", transport_so_pin=tokens.TRANSPORT_SO_PIN, kdf=FAST_KDF
        )
    request.getfixturevalue("softhsm")
    return open_card(tokens.spec(tokens.blank_token()))


@pytest.fixture
def make_blank(tmp_path: Path) -> Callable[[str], Card]:
    def make(kind: str) -> Card:
        if kind == "virtual":
            return VirtualCard.create_blank(
                tmp_path / f"card-{len(list(tmp_path.iterdir()))}.json",
                transport_so_pin=tokens.TRANSPORT_SO_PIN,
                kdf=FAST_KDF,
            )
        return open_card(tokens.spec(tokens.blank_token()))

    return make


# -- end to end: the agent's commands against the real API, in-process ----------------------------

import re  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
from click.testing import CliRunner, Result  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.signals import request_finished, request_started  # noqa: E402
from django.db import close_old_connections  # noqa: E402

from cis.people.models import Person  # noqa: E402
from cis.pki import hierarchy  # noqa: E402
from cis.rights.models import Right  # noqa: E402
from cis.smartcards.provisioning import provision  # noqa: E402
from cis_agent import cli  # noqa: E402
from tests.factories.directory import (  # noqa: E402
    AssignmentFactory,
    OrganisationFactory,
    PersonFactory,
    PositionFactory,
    RegistrationAuthorityFactory,
    RightGrantFactory,
)

SERVER = "http://testserver"
PASSCODE = "2468"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()  # throttles count per client address; every test starts at zero


@pytest.fixture
def ca(db: None) -> hierarchy.Hierarchy:
    return hierarchy.ca_init()


@dataclass
class Cast:
    agent: Person  # RA Agent across the RA
    lsa: Person  # LSA at the head office (not its branches)
    holder: Person  # works at the head office
    branch_holder: Person  # works at a branch: outside the LSA's scope
    outsider: Person  # works elsewhere, under another RA


@pytest.fixture
def cast(db: None) -> Cast:
    ra = RegistrationAuthorityFactory(code="RA-CARD", name="Card RA")
    other_ra = RegistrationAuthorityFactory(code="RA-ELSE", name="Other RA")
    head = OrganisationFactory(ods_code="FHC01", name="Head office", serving_ra=ra)
    branch = OrganisationFactory(ods_code="FBC01", name="Branch", serving_ra=ra, parent=head)
    elsewhere = OrganisationFactory(ods_code="FEC01", name="Elsewhere", serving_ra=other_ra)

    def staff(given: str, org: Any, registered: Any = None) -> Person:
        person: Person = PersonFactory(
            given_name=given, family_name="Card", registered_ra=registered or ra
        )
        AssignmentFactory(person=person, position=PositionFactory(organisation=org))
        return person

    agent = staff("Agnes", head)
    RightGrantFactory(person=agent, right=Right.RA_AGENT, ra=ra)
    lsa = staff("Lisa", head)
    RightGrantFactory(person=lsa, right=Right.LSA, organisation=head)
    return Cast(
        agent=agent,
        lsa=lsa,
        holder=staff("Harriet", head),
        branch_holder=staff("Bob", branch),
        outsider=staff("Olly", elsewhere, other_ra),
    )


@pytest.fixture(params=["virtual", "pkcs11"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "pkcs11":
        request.getfixturevalue("softhsm")
    return str(request.param)


@pytest.fixture
def new_card(kind: str, make_blank: Callable[[str], Card]) -> Callable[[], Card]:
    return lambda: make_blank(kind)


@pytest.fixture
def issued_card(ca: hierarchy.Hierarchy, new_card: Callable[[], Card]) -> Callable[[Person], Card]:
    """A card issued to someone by the console operator (the way the demo makes its cards)."""

    def make(person: Person, passcode: str = PASSCODE) -> Card:
        card = new_card()
        provision(
            holder=person, card=card, passcode=passcode, transport_so_pin=tokens.TRANSPORT_SO_PIN
        )
        return card

    return make


@dataclass
class Agent:
    """Runs cis-agent commands in-process, over HTTP to the Django app (no sockets)."""

    runner: CliRunner

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(cli.main, list(args), input=input, catch_exceptions=False)

    def run(
        self, command: str, card: Card, *extra: str, input: str | None = None, server: bool = True
    ) -> Result:
        args = [command]
        if server:
            args += ["--server", SERVER]
        args += ["--card", card.spec, *extra]
        return self(*args, input=input)

    def login(self, card: Card, passcode: str = PASSCODE) -> Result:
        result = self.run("login", card, "--passcode-stdin", input=passcode + "\n")
        assert result.exit_code == 0, result.stderr
        return result


@pytest.fixture
def agent(db: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Agent]:
    monkeypatch.setattr(cli, "transport", httpx.WSGITransport(app=WSGIHandler()))
    monkeypatch.setenv("CIS_AGENT_HOME", str(tmp_path / "agent-home"))
    # As Django's test client does: a request must not close the test's own connection (on
    # PostgreSQL it would, since the test's transaction leaves autocommit off).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield Agent(CliRunner())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def last_code(outbox: list[Any]) -> str:
    """The six digits in the newest message sent."""
    body = outbox[-1]["body"] if isinstance(outbox[-1], dict) else outbox[-1].body
    found = re.search(r"\b(\d{6})\b", body)
    assert found, body
    return found.group(1)
