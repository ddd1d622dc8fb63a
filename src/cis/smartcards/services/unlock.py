"""A locked card: reported by the agent, unlocked by an administrator or by a one-time code."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.db import transaction

from cis.audit import refusals
from cis.authz.actions import Action
from cis.authz.policy import Actor, Decision, require
from cis.core import clock, codes
from cis.core.errors import InvalidState, NotPermitted, RateLimited, ValidationFailed, WrongCode
from cis.notify import messages as notify
from cis.pki.models import serial_to_hex
from cis_wire.messages import lock_report_mac, lock_report_message

from .. import envelope
from ..models import AgentChallenge, CardCertificate, Smartcard, UnlockCode
from ..states import LIVE, CardStatus, CodeChannel, OperationKind
from .common import (
    Released,
    audit,
    current_link,
    lock_card,
    lock_report_key,
    open_operation,
    release_so_pins,
    require_live,
    snapshot,
)
from .issue import require_holder_present

CODE_PURPOSE = "card-unlock"


def _require_unlockable(card: Smartcard) -> None:
    require_live(card)
    if card.status == CardStatus.ISSUED:
        raise InvalidState("This card has not been issued yet; finish issuing it first.")


@transaction.atomic
def card_report_locked(*, actor: Actor, card: Smartcard) -> Smartcard:
    """The agent found the card locked (3 wrong passcodes): CIS shows it as locked."""
    card = lock_card(card)
    decision = require(actor, Action.CARD_REPORT_LOCKED, card.holder)
    _require_unlockable(card)
    return _mark_locked(actor=actor, decision=decision, card=card, by="signed-in agent")


def _mark_locked(*, actor: Actor, decision: Decision, card: Smartcard, by: str) -> Smartcard:
    if card.status == CardStatus.LOCKED:
        return card
    before = snapshot(card)
    card.status = CardStatus.LOCKED
    card.locked_at = clock.now()
    card.save(update_fields=["status", "locked_at", "updated_at"])
    audit(
        actor=actor,
        decision=decision,
        action=Action.CARD_REPORT_LOCKED,
        card=card,
        before=before,
        after={**snapshot(card), "reported_by": by},
    )
    return card


UNCHECKED_REPORT = (
    "This lock report cannot be checked: the challenge is unknown, used or expired, or the "
    "report was not made by the card. Ask for a new challenge and try again."
)


def card_lock_report(*, chip_serial: str, challenge: str, mac: bytes) -> Smartcard:
    """The card itself says it is locked, with a MAC by its own lock-report key over a fresh
    challenge; no sign-in is needed (a locked card cannot sign one).

    A forged report (wrong key), a replayed one (challenge already spent) and a report about
    a card CIS does not know all get the same refusal after the same work, so the answer never
    tells whether a chip serial exists. A report about a card already locked changes nothing.
    """
    now = clock.now()
    spent = AgentChallenge.objects.filter(
        value=challenge, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    serial = chip_serial.strip()
    with transaction.atomic():
        card = (
            Smartcard.objects.select_for_update()
            .select_related("holder")
            .filter(chip_serial=serial, status__in=sorted(LIVE))
            .first()
        )
        # The key of a card that does not exist is still derived, so both take the same time.
        key = lock_report_key(card) if card is not None else envelope.derive(f"no-card:{serial}")
        expected = lock_report_mac(
            key, lock_report_message(challenge=challenge, chip_serial=serial)
        )
        genuine = hmac.compare_digest(expected, mac)
        if card is None or spent != 1 or not challenge or not genuine:
            raise NotPermitted(UNCHECKED_REPORT)
        decision = require(card.holder, Action.CARD_REPORT_LOCKED, card.holder)
        _require_unlockable(card)
        return _mark_locked(actor=card.holder, decision=decision, card=card, by="card")


@transaction.atomic
def card_unlock_assisted(*, actor: Actor, card: Smartcard, holder_present: bool) -> Released:
    """An LSA, Sponsor or RA unlocks a card in scope with the holder present.

    The card's SO PIN leaves CIS only here, inside the authorised operation, with a new one the
    agent must rotate the card to; until it confirms, CIS shows the rotation as due.
    """
    card = lock_card(card)
    decision = require(actor, Action.CARD_UNLOCK_ASSISTED, card.holder)
    require_holder_present(holder_present)
    _require_unlockable(card)
    return _release(actor=actor, decision=decision, card=card, kind=OperationKind.UNLOCK)


def _release(
    *, actor: Actor, decision: Decision, card: Smartcard, kind: OperationKind, secret: str = ""
) -> Released:
    action = (
        Action.CARD_UNLOCK_ASSISTED if kind == OperationKind.UNLOCK else Action.CARD_UNLOCK_SELF
    )
    pins, new_pin, sealed = release_so_pins(card)
    card.save(update_fields=["so_pin_unconfirmed", "updated_at"])
    operation = open_operation(
        card=card,
        kind=kind,
        action=action,
        actor=actor,
        decision=decision,
        new_so_pin_sealed=sealed,
        secret=secret,
    )
    audit(
        actor=actor,
        decision=decision,
        action=action,
        card=card,
        after={
            **snapshot(card),
            "step": "started",
            "operation": operation.ref,
            "so_pin_released": True,
        },
    )
    return Released(operation=operation, so_pins=pins, new_so_pin=new_pin, secret=secret)


UNRECOGNISED_CARD = (
    "CIS does not recognise this card: the chip serial and the certificate on it are not a card "
    "CIS issued. Ask your Local Smartcard Administrator."
)


def card_presented(*, chip_serial: str, certificate_der: bytes) -> Smartcard:
    """A card in a reader, recognised by its chip serial and the certificate it carries.

    This is what a holder without a working passcode can show: it identifies the card (and so
    whom to send a code to), and it is all the self-unlock start needs, since the code goes only
    to the holder's own verified contact. The card is looked up by the certificate, never by the
    chip serial alone, and every mismatch gets one answer, so that nobody learns from it (or
    from its timing) whether a chip serial belongs to a card.
    """
    try:
        presented = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        raise ValidationFailed(
            "The card's certificate cannot be read.", field="certificate"
        ) from None
    link = (
        CardCertificate.objects.select_related("card", "card__holder", "certificate")
        .filter(certificate__serial_hex=serial_to_hex(presented.serial_number))
        .first()
    )
    if (
        link is None
        or bytes(link.certificate.der) != presented.public_bytes(Encoding.DER)
        or link.card.chip_serial != chip_serial.strip()
    ):
        raise NotPermitted(UNRECOGNISED_CARD)
    card = link.card
    require_live(card)
    current = current_link(card)
    if current is None or current.pk != link.pk:
        raise NotPermitted("The certificate on this card is not the one CIS issued for it.")
    return card


def _mask(channel: str, value: str) -> str:
    if channel == CodeChannel.EMAIL:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"*******{value[-4:]}"


def _destination(card: Smartcard, channel: str) -> tuple[str, str]:
    holder = card.holder
    options = []
    if holder.mobile and holder.mobile_verified_at:
        options.append((CodeChannel.MOBILE.value, holder.mobile))
    if holder.email and holder.email_verified_at:
        options.append((CodeChannel.EMAIL.value, holder.email))
    if not options:
        raise InvalidState(
            "There is no verified email or mobile to send a code to. Ask your Local Smartcard "
            "Administrator to unlock the card."
        )
    if not channel:
        return options[0]
    for name, value in options:
        if name == channel:
            return name, value
    if channel not in CodeChannel.values:
        raise ValidationFailed(f"'{channel}' is not email or mobile.", field="channel")
    raise InvalidState(f"There is no verified {channel} to send a code to; choose the other.")


@dataclass(frozen=True)
class CodeSent:
    code: UnlockCode
    sent_to: str


@transaction.atomic
def card_self_unlock_send_code(*, actor: Actor, card: Smartcard, channel: str = "") -> CodeSent:
    """Send the holder a one-time code (6 digits, 15 minutes, single use) to unlock the card."""
    card = lock_card(card)
    decision = require(actor, Action.CARD_UNLOCK_SELF, card.holder)
    _require_unlockable(card)
    if codes.sent_too_often(UnlockCode.objects.filter(card=card)):
        raise RateLimited(
            "Too many unlock codes were asked for in the last hour. Try again later, or ask your "
            "Local Smartcard Administrator."
        )
    name, to = _destination(card, channel)
    masked = _mask(name, to)
    sent, code = codes.issue(
        UnlockCode.objects.filter(card=card),
        purpose=f"{CODE_PURPOSE}:{card.pk}",
        card=card,
        channel=name,
        sent_to=masked,
    )
    holder = card.holder
    transaction.on_commit(
        lambda: notify.send_unlock_code(channel=name, to=to, code=code, person=holder)
    )
    audit(
        actor=actor,
        decision=decision,
        action=Action.CARD_UNLOCK_SELF,
        card=card,
        after={**snapshot(card), "step": "code_sent", "channel": name, "sent_to": masked},
    )
    return CodeSent(code=sent, sent_to=masked)


def card_self_unlock_verify(*, actor: Actor, card: Smartcard, code: str) -> Released:
    """Check the one-time code; if right, release the SO PIN for the agent to unlock the card."""
    wrong: WrongCode | None = None
    with transaction.atomic():
        card = lock_card(card)
        decision = require(actor, Action.CARD_UNLOCK_SELF, card.holder)
        _require_unlockable(card)
        latest = UnlockCode.objects.select_for_update().filter(card=card).first()
        if latest is None:
            raise InvalidState("No unlock code has been sent for this card. Ask for one first.")
        wrong = codes.check(latest, code, purpose=f"{CODE_PURPOSE}:{card.pk}")
        if wrong is None:
            released = _release(
                actor=actor,
                decision=decision,
                card=card,
                kind=OperationKind.SELF_UNLOCK,
                secret=secrets.token_urlsafe(32),
            )
    # A wrong code still counts: the attempt is committed before the error is raised.
    if wrong is not None:
        refusals.wrong_code(
            actor=actor, attempted=Action.CARD_UNLOCK_SELF, reason=wrong.message, target=card
        )
        raise wrong
    return released
