"""Issuing a card to a holder, and the RA's other card steps: replace, repair, clear for reuse."""

from __future__ import annotations

import re

from django.db import transaction

from cis.authz.actions import Action
from cis.authz.policy import Actor, Decision, require
from cis.authz.scope import person_org_ids
from cis.core import clock
from cis.core.errors import Conflict, InvalidState, ValidationFailed
from cis.people.models import Person, PersonKind, PersonStatus
from cis.workflow.services import card_authorisation

from .. import envelope
from ..models import Smartcard
from ..states import LIVE, CancelReason, CardStatus, OperationKind
from .cancel import cancel_locked
from .common import (
    Released,
    audit,
    lock_card,
    new_so_pin,
    open_operation,
    release_so_pins,
    require_live,
    seal_so_pin,
    snapshot,
    so_context,
)

CHIP_SERIAL_RE = re.compile(r"^[A-Za-z0-9._:-]{4,64}$")


def require_holder_present(holder_present: bool) -> None:
    if not holder_present:
        raise ValidationFailed(
            "The holder must be present: they choose the new passcode on the card themselves.",
            field="holder_present",
        )


def _check_issuable(holder: Person) -> None:
    if holder.status == PersonStatus.CLOSED:
        raise InvalidState(f"{holder.full_name}'s profile is closed; reopen it first.")
    if holder.kind == PersonKind.RPA:
        raise InvalidState(
            f"{holder.full_name} is a robotic process (RPA): it holds no smartcard and signs in "
            "as a registered system, not with a card."
        )
    if holder.access_ended:
        raise InvalidState(f"{holder.full_name}'s access ended on {holder.access_ends_on}.")
    if holder.status != PersonStatus.ACTIVE:
        raise InvalidState(
            f"{holder.full_name}'s identity has not been verified yet; an RA ID Checker must "
            "verify it before a card can be issued."
        )
    if not person_org_ids(holder):
        raise InvalidState(
            f"{holder.full_name} holds no active position; assign one before issuing a card."
        )


def _clean_serial(chip_serial: str) -> str:
    serial = chip_serial.strip()
    if not CHIP_SERIAL_RE.fullmatch(serial):
        raise ValidationFailed(
            f"'{chip_serial}' is not a chip serial: use the 4 to 64 letters and digits the "
            "card reports.",
            field="chip_serial",
        )
    return serial


def _live_record(serial: str) -> Smartcard | None:
    return (
        Smartcard.objects.select_for_update()
        .select_related("holder")
        .filter(chip_serial=serial, status__in=sorted(LIVE))
        .first()
    )


def _check_never_cancelled(serial: str) -> None:
    last = Smartcard.objects.filter(chip_serial=serial).order_by("-issued_at", "-id").first()
    if last is not None and last.status == CardStatus.CANCELLED:
        raise InvalidState(
            f"Card {serial} was cancelled ({last.get_cancel_reason_display().lower()}) and can "
            "never be used again. Destroy it and use a new card."
        )


def _issue(
    *,
    actor: Actor,
    decision: Decision,
    holder: Person,
    serial: str,
    replaces: Smartcard | None = None,
) -> Released:
    card = Smartcard(
        chip_serial=serial,
        holder=holder,
        status=CardStatus.ISSUED,
        issued_by=actor if isinstance(actor, Person) else None,
        issued_at=clock.now(),
        replaces=replaces,
    )
    pin = new_so_pin()
    card.so_pin_sealed = seal_so_pin(card, pin)
    card.save()
    action = Action.CARD_REPLACE if replaces is not None else Action.CARD_ISSUE
    return _personalise(
        actor=actor, action=action, decision=decision, card=card, pin=pin, resumed=False
    )


def _personalise(
    *, actor: Actor, action: Action, decision: Decision, card: Smartcard, pin: str, resumed: bool
) -> Released:
    """Open the issue operation under the decision for `action` (an issue or a replacement)."""
    fulfils = card_authorisation(
        person=card.holder, operation="replace" if card.replaces_id else "issue"
    )
    operation = open_operation(
        card=card,
        kind=OperationKind.ISSUE,
        action=action,
        actor=actor,
        decision=decision,
        new_so_pin_sealed=card.so_pin_sealed,
        fulfils=fulfils,
    )
    after = {
        **snapshot(card),
        "step": "resumed" if resumed else "started",
        "operation": operation.ref,
        "replaces": card.replaces.chip_serial if card.replaces else "",
        "fulfils": fulfils.ref if fulfils else "",
    }
    audit(actor=actor, decision=decision, action=action, card=card, after=after)
    # The agent sets this SO PIN at initialisation, starting from the card's transport PIN.
    return Released(operation=operation, so_pins=[pin], new_so_pin=pin)


@transaction.atomic
def card_issue(*, actor: Actor, holder: Person, chip_serial: str, holder_present: bool) -> Released:
    """Bind a blank card to a holder and release its new SO PIN to the agent personalising it.

    Issuing the same chip to the same holder again resumes an issue that was interrupted.
    """
    holder = Person.objects.select_for_update().get(pk=holder.pk)
    decision = require(actor, Action.CARD_ISSUE, holder)
    require_holder_present(holder_present)
    serial = _clean_serial(chip_serial)
    _check_issuable(holder)
    live = _live_record(serial)
    if live is not None:
        if live.holder_id == holder.pk and live.status == CardStatus.ISSUED:
            pin = envelope.unseal(live.so_pin_sealed, context=so_context(live))
            return _personalise(
                actor=actor,
                action=Action.CARD_ISSUE,
                decision=decision,
                card=live,
                pin=pin,
                resumed=True,
            )
        raise Conflict(
            f"Card {serial} is already issued to {live.holder.full_name}; it must be cancelled "
            "or cleared before it can be issued again."
        )
    _check_never_cancelled(serial)
    return _issue(actor=actor, decision=decision, holder=holder, serial=serial)


@transaction.atomic
def card_replace(
    *,
    actor: Actor,
    card: Smartcard,
    new_chip_serial: str,
    reason: str,
    holder_present: bool,
) -> Released:
    """A new card for the same holder; the old one is cancelled with the reason given."""
    card = lock_card(card)
    holder = Person.objects.select_for_update().get(pk=card.holder_id)
    decision = require(actor, Action.CARD_REPLACE, holder)
    require_holder_present(holder_present)
    if reason not in CancelReason.values:
        raise ValidationFailed(
            f"'{reason}' is not a reason to replace a card: use one of "
            f"{', '.join(CancelReason.values)}.",
            field="reason",
        )
    if card.status == CardStatus.CLEARED:
        raise InvalidState("This card was cleared for reuse; issue a new card instead.")
    if Smartcard.objects.filter(replaces=card).exists():
        raise Conflict(f"Card {card.chip_serial} has already been replaced.")
    serial = _clean_serial(new_chip_serial)
    if serial == card.chip_serial:
        raise ValidationFailed("The replacement must be a different card.", field="chip_serial")
    _check_issuable(holder)
    if _live_record(serial) is not None:
        raise Conflict(f"Card {serial} is already issued; use a blank card.")
    _check_never_cancelled(serial)
    if card.status in LIVE:
        cancel_locked(
            actor=actor,
            action=Action.CARD_REPLACE,
            decision=decision,
            card=card,
            reason=CancelReason(reason),
        )
    return _issue(actor=actor, decision=decision, holder=holder, serial=serial, replaces=card)


def _so_pin_step(
    *, actor: Actor, card: Smartcard, action: Action, kind: OperationKind, holder_present: bool
) -> Released:
    card = lock_card(card)
    decision = require(actor, action, card.holder)
    require_live(card)
    if kind == OperationKind.REPAIR:
        require_holder_present(holder_present)
    pins, new_pin, sealed = release_so_pins(card)
    card.save(update_fields=["so_pin_unconfirmed", "updated_at"])
    operation = open_operation(
        card=card,
        kind=kind,
        action=action,
        actor=actor,
        decision=decision,
        new_so_pin_sealed=sealed,
    )
    after = {
        **snapshot(card),
        "step": "started",
        "operation": operation.ref,
        "so_pin_released": True,
    }
    audit(actor=actor, decision=decision, action=action, card=card, after=after)
    return Released(operation=operation, so_pins=pins, new_so_pin=new_pin)


@transaction.atomic
def card_repair(*, actor: Actor, card: Smartcard, holder_present: bool) -> Released:
    """Re-personalise a card for the same holder: new passcode, new key, new certificate."""
    return _so_pin_step(
        actor=actor,
        card=card,
        action=Action.CARD_REPAIR,
        kind=OperationKind.REPAIR,
        holder_present=holder_present,
    )


@transaction.atomic
def card_clear(*, actor: Actor, card: Smartcard) -> Released:
    """Start wiping a returned card; it is cleared (and its certificates revoked) on completion."""
    return _so_pin_step(
        actor=actor,
        card=card,
        action=Action.CARD_CLEAR,
        kind=OperationKind.CLEAR,
        holder_present=True,
    )
