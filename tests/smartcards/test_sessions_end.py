"""Cancelling a card, revoking its certificate or closing the profile signs the holder out."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cis.authz.policy import CONSOLE
from cis.people.services import person_close
from cis.pki.services import certificate_revoke, certificate_supersede
from cis.signin.models import EndReason, SignInSession
from cis.smartcards.services import card_cancel
from tests.factories.directory import AssignmentFactory, PersonFactory
from tests.oidc.support import smartcard_session

from .conftest import CardInHand

pytestmark = pytest.mark.django_db


def _session_for(card: CardInHand) -> SignInSession:
    return smartcard_session(
        card.row.holder,
        card_serial=card.row.chip_serial,
        certificate_serial=card.link.certificate.serial_hex,
    )


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        # Cancelling revokes the card's certificates first, and that ends the session.
        ("cancel", EndReason.CERTIFICATE_REVOKED),
        ("revoke", EndReason.CERTIFICATE_REVOKED),
        ("close", EndReason.PERSON_CLOSED),
    ],
)
def test_the_holder_is_signed_out_at_once(
    active_card: Callable[..., CardInHand], how: str, reason: str
) -> None:
    holder = PersonFactory()
    AssignmentFactory(person=holder)
    card = active_card(holder)
    session = _session_for(card)
    if how == "cancel":
        card_cancel(actor=CONSOLE, card=card.row, reason="stolen")
    elif how == "revoke":
        certificate_revoke(actor=CONSOLE, certificate=card.link.certificate, reason="keyCompromise")
    else:
        person_close(actor=CONSOLE, person=holder, reason="Left the organisation")
    session.refresh_from_db()
    assert session.ended_at is not None
    assert session.end_reason == reason


def test_a_renewal_keeps_the_holder_signed_in(active_card: Callable[..., CardInHand]) -> None:
    holder = PersonFactory()
    AssignmentFactory(person=holder)
    card = active_card(holder)
    session = _session_for(card)
    certificate_supersede(actor=CONSOLE, certificate=card.link.certificate)
    session.refresh_from_db()
    assert session.ended_at is None
