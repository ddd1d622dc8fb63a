"""A locked card: reported by the agent, unlocked by an administrator or by a one-time code."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings
from django.db import transaction

from cis.authz.actions import Action
from cis.authz.policy import Actor, Decision, require
from cis.core import clock
from cis.core.codes import code_digest, code_matches, new_code
from cis.core.errors import InvalidState, NotPermitted, RateLimited, ValidationFailed
from cis.notify import messages as notify

from ..models import Smartcard, UnlockCode
from ..states import CardStatus, CodeChannel, OperationKind
from .common import (
    Released,
    audit,
    current_link,
    find_card,
    lock_card,
    open_operation,
    release_so_pins,
    require_live,
    snapshot,
)
from .issue import require_holder_present

CODE_PURPOSE = "card-unlock"


class WrongCode(ValidationFailed):
    code = "wrong_code"


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
        after=snapshot(card),
    )
    return card


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


def card_presented(*, chip_serial: str, certificate_der: bytes) -> Smartcard:
    """A card in a reader, recognised by its chip serial and the certificate it carries.

    This is what a holder without a working passcode can show: it identifies the card (and so
    whom to send a code to), and it is all the self-unlock start needs, since the code goes only
    to the holder's own verified contact.
    """
    card = find_card(chip_serial)
    require_live(card)
    link = current_link(card)
    try:
        presented = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        raise ValidationFailed(
            "The card's certificate cannot be read.", field="certificate"
        ) from None
    if link is None or bytes(link.certificate.der) != presented.public_bytes(Encoding.DER):
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
    now = clock.now()
    recent = UnlockCode.objects.filter(card=card, created_at__gte=now - dt.timedelta(hours=1))
    if recent.count() >= settings.CIS_OTP_MAX_PER_HOUR:
        raise RateLimited(
            "Too many unlock codes were asked for in the last hour. Try again later, or ask your "
            "Local Smartcard Administrator."
        )
    name, to = _destination(card, channel)
    UnlockCode.objects.filter(card=card, used_at__isnull=True, superseded=False).update(
        superseded=True
    )
    code = new_code(settings.CIS_OTP_DIGITS)
    masked = _mask(name, to)
    sent = UnlockCode.objects.create(
        card=card,
        channel=name,
        sent_to=masked,
        code_digest=code_digest(code, purpose=f"{CODE_PURPOSE}:{card.pk}"),
        expires_at=now + dt.timedelta(seconds=settings.CIS_OTP_LIFETIME_SECONDS),
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
        now = clock.now()
        if latest is None:
            raise InvalidState("No unlock code has been sent for this card. Ask for one first.")
        if latest.used_at is not None:
            raise InvalidState("This code has already been used. Ask for a new one.")
        if latest.superseded:
            raise InvalidState("A newer code was sent; use the latest one.")
        if latest.expires_at <= now:
            raise InvalidState("This code has expired (codes last 15 minutes). Ask for a new one.")
        if latest.attempts >= settings.CIS_OTP_MAX_ATTEMPTS:
            raise InvalidState("Too many wrong codes. Ask for a new one.")
        cleaned = code.strip()
        if not cleaned.isdigit() or not code_matches(
            cleaned, latest.code_digest, purpose=f"{CODE_PURPOSE}:{card.pk}"
        ):
            latest.attempts += 1
            latest.save(update_fields=["attempts", "updated_at"])
            left = settings.CIS_OTP_MAX_ATTEMPTS - latest.attempts
            wrong = WrongCode(
                f"That code is not right. {left} attempt{'s' if left != 1 else ''} left."
                if left
                else "That code is not right, and no attempts are left. Ask for a new one.",
                field="code",
            )
        else:
            latest.used_at = now
            latest.save(update_fields=["used_at", "updated_at"])
            released = _release(
                actor=actor,
                decision=decision,
                card=card,
                kind=OperationKind.SELF_UNLOCK,
                secret=secrets.token_urlsafe(32),
            )
    # A wrong code still counts: the attempt is committed before the error is raised.
    if wrong is not None:
        raise wrong
    return released
