"""Issuing cards from the server itself: the console operator's first cards, and the demo's.

The issue flow the agent runs (`cis_card.flows.issue`) runs here in-process against the
services (no HTTP), acting as the console operator, so every step is checked, audited and
written to the card exactly as when an RA Agent issues a card at a workstation. It is one flow,
in `cis_card`, which both sides import, so the server never imports the agent. Everything else in
the server that drives a card does it through this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cis.authz.policy import CONSOLE, Actor
from cis.core.errors import InvalidState
from cis.people.models import Person
from cis_card import flows
from cis_card.base import (
    MAX_PASSCODE_TRIES,
    Card,
    CardError,
    CardLocked,
    WrongPasscode,
)
from cis_card.spec import open_card
from cis_card.virtual import VirtualCard

from . import services, wire
from .models import Smartcard
from .states import CardStatus

DEMO_TRANSPORT_PIN = "12345678"


class DirectServer:
    """The part of CIS that issuing needs (`cis_card.flows.Issuer`), served by the services."""

    def __init__(self, actor: Actor = CONSOLE) -> None:
        self.actor = actor

    def passcode_policy(self) -> dict[str, Any]:
        return wire.passcode_policy_json()

    def issue(self, *, holder: str, chip_serial: str, holder_present: bool) -> dict[str, Any]:
        person = Person.objects.get(user_id=holder)
        released = services.card_issue(
            actor=self.actor, holder=person, chip_serial=chip_serial, holder_present=holder_present
        )
        return wire.operation_json(released)

    def request_certificate(
        self,
        *,
        operation: str,
        chip_serial: str,
        csr_pem: bytes,
        renewal_proof: bytes | None = None,
        secret: str = "",
    ) -> dict[str, Any]:
        link = services.card_certificate_request(
            actor=self.actor,
            operation_ref=operation,
            chip_serial=chip_serial,
            csr_pem=csr_pem,
            renewal_proof=renewal_proof,
            secret=secret,
        )
        return wire.certificate_json(link)

    def complete(
        self,
        *,
        operation: str,
        chip_serial: str,
        certificate_serial: str = "",
        so_pin_rotated: bool = False,
        secret: str = "",
    ) -> dict[str, Any]:
        card = services.card_operation_complete(
            actor=self.actor,
            operation_ref=operation,
            chip_serial=chip_serial,
            certificate_serial=certificate_serial,
            so_pin_rotated=so_pin_rotated,
            secret=secret,
        )
        return {"chip_serial": card.chip_serial, "status": card.status}


def provision(
    *,
    holder: Person,
    card: Card,
    passcode: str,
    transport_so_pin: str = DEMO_TRANSPORT_PIN,
    actor: Actor = CONSOLE,
) -> flows.Personalised:
    """Issue a blank card to a holder, from the server: the whole agent flow, in-process."""
    return flows.issue(
        card=card,
        server=DirectServer(actor),
        holder=holder.user_id,
        passcode=passcode,
        transport_so_pin=transport_so_pin,
    )


def provision_spec(
    *, holder: Person, spec: str, passcode: str, transport_so_pin: str = DEMO_TRANSPORT_PIN
) -> str:
    """Issue the card a SPEC names (`virtual:PATH`, made if missing, or `pkcs11:...`) to a holder.

    Returns the SPEC; a card that cannot be used is an InvalidState saying why.
    """
    try:
        if spec.startswith("virtual:"):
            return ensure_virtual_card(
                holder=holder, path=Path(spec.removeprefix("virtual:")), passcode=passcode
            )
        provision(
            holder=holder,
            card=open_card(spec),
            passcode=passcode,
            transport_so_pin=transport_so_pin,
        )
    except CardError as exc:
        raise InvalidState(str(exc)) from None
    return spec


def create_blank_virtual_card(path: Path) -> str:
    """A new blank virtual card at `path`, with the demo's transport PIN; returns its SPEC."""
    return VirtualCard.create_blank(path, transport_so_pin=DEMO_TRANSPORT_PIN).spec


def lock_virtual_card(path: Path, *, wrong_passcode: str) -> str:
    """Lock the virtual card at `path` as a holder would: three wrong passcodes.

    Returns the card's chip serial. CIS is not told here; the caller reports the lock.
    """
    card = VirtualCard(path)
    for _ in range(MAX_PASSCODE_TRIES):
        try:
            card.verify_passcode(wrong_passcode)
        except (WrongPasscode, CardLocked):
            continue
    return card.serial()


def ensure_virtual_card(*, holder: Person, path: Path, passcode: str) -> str:
    """The holder's virtual card at `path`, issued if it is not yet (idempotent). Returns the SPEC.

    A card file already issued to this holder and still live in CIS is left alone, whatever its
    passcode or lock state now: the demo never undoes what a user did with a card.
    """
    if path.exists():
        card = VirtualCard(path)
        live = Smartcard.objects.filter(
            chip_serial=card.serial(),
            holder=holder,
            status__in=[CardStatus.ACTIVE, CardStatus.LOCKED],
        ).exists()
        if live and card.is_initialised() and card.certificates():
            return card.spec
        if card.is_initialised():
            raise InvalidState(
                f"{path} holds a card CIS does not know as {holder.full_name}'s; move it away."
            )
    else:
        card = VirtualCard.create_blank(path, transport_so_pin=DEMO_TRANSPORT_PIN)
    provision(holder=holder, card=card, passcode=passcode)
    return card.spec


def ensure_persona_cards(records: list[dict[str, Any]]) -> list[str]:
    """Issue each demo persona's virtual card (records as in demo-personas.json); idempotent.

    Needs the CA (`cis ca init`). Returns the SPECs made or found, in the records' order.
    """
    specs = []
    for record in records:
        spec = str(record["card"])
        if not spec.startswith("virtual:"):
            continue
        holder = Person.objects.get(user_id=record["user_id"])
        path = Path(spec.removeprefix("virtual:"))
        path.parent.mkdir(parents=True, exist_ok=True)
        specs.append(
            ensure_virtual_card(holder=holder, path=path, passcode=str(record["passcode"]))
        )
    return specs
