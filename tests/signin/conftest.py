"""Fixtures for sign-in: a real CA, cards issued to people (virtual and SoftHSM2), an agent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from django.test import Client

from cis.people.models import Person
from cis.pki import hierarchy
from cis.smartcards.provisioning import provision
from cis_card.base import Card
from cis_card.spec import open_card
from cis_card.virtual import VirtualCard
from tests.agent import tokens
from tests.oidc.support import DjangoTransport, Holder, holder

PASSCODE = "2468"
FAST_KDF = {"n": 2**12, "r": 8, "p": 1}


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> None:
    if not tokens.softhsm_available():
        pytest.skip("SoftHSM2 is not installed (make system-deps installs it)")
    tokens.ensure_config(tmp_path_factory.mktemp("softhsm"))


@pytest.fixture
def ca(db: None) -> hierarchy.Hierarchy:
    return hierarchy.ca_init()


@pytest.fixture
def asha(db: None) -> Holder:
    return holder()


@pytest.fixture
def make_card(
    ca: hierarchy.Hierarchy, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[..., Card]:
    """A card issued to a person by the console operator, as the demo issues its cards."""

    def make(person: Person, *, kind: str = "virtual", passcode: str = PASSCODE) -> Card:
        if kind == "virtual":
            card: Card = VirtualCard.create_blank(
                tmp_path / f"card-{len(list(tmp_path.glob('card-*')))}.json",
                transport_so_pin=tokens.TRANSPORT_SO_PIN,
                kdf=FAST_KDF,
            )
        else:
            request.getfixturevalue("softhsm")
            card = open_card(tokens.spec(tokens.blank_token()))
        provision(
            holder=person, card=card, passcode=passcode, transport_so_pin=tokens.TRANSPORT_SO_PIN
        )
        return card

    return make


@pytest.fixture
def http() -> httpx.Client:
    """The agent's HTTP client, into this test's Django app."""
    return httpx.Client(transport=DjangoTransport(Client()), base_url="http://testserver")
