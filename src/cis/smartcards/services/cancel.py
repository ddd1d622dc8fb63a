"""Cancelling a card for good: every certificate revoked, every session using it ended."""

from __future__ import annotations

from django.db import transaction

from cis.authz.actions import Action
from cis.authz.policy import Actor, Decision, require
from cis.core import clock
from cis.core.errors import InvalidState, ValidationFailed
from cis.pki.services import certificate_revoke
from cis.signin.services import sessions_end_for_card

from ..models import AgentToken, Smartcard
from ..states import HOLDER_REPORTABLE, REVOCATION_FOR_CANCEL, CancelReason, CardStatus
from .common import (
    abandon_open_operations,
    actor_ref,
    audit,
    ended_message,
    live_certificates,
    lock_card,
    snapshot,
)


def end_card_sessions(card: Smartcard) -> int:
    """End everything signed in with this card; call it wherever a card stops being usable.

    Today that is the agent's tokens. Sign-in sessions (issue 5) end here too: this function is
    the one explicit call point, with no signals, so a reader can see every effect of cancelling.
    """
    tokens = AgentToken.objects.filter(card=card, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )
    return tokens + sessions_end_for_card(card.chip_serial) + sessions_end_for_card(card.pk)


def revoke_all(*, actor: Actor, action: Action, card: Smartcard, reason: str) -> list[str]:
    """Revoke every live certificate of the card, each as a step of the card action."""
    revoked = []
    for cert in live_certificates(card):
        certificate_revoke(actor=actor, certificate=cert, reason=reason, card_action=action)
        revoked.append(cert.serial_hex)
    return revoked


def cancel_locked(
    *, actor: Actor, action: Action, decision: Decision, card: Smartcard, reason: CancelReason
) -> Smartcard:
    """Cancel a card already locked by the caller, under the caller's decision for `action`
    (a cancellation, a report of loss, a replacement), which its audit event names."""
    if card.status == CardStatus.CANCELLED:
        raise InvalidState(
            f"Card {card.chip_serial} is already cancelled; a cancellation can never be undone."
        )
    if card.status == CardStatus.CLEARED:
        raise InvalidState(ended_message(card))
    before = snapshot(card)
    revoked = revoke_all(
        actor=actor, action=action, card=card, reason=REVOCATION_FOR_CANCEL[reason]
    )
    abandon_open_operations(card)
    card.status = CardStatus.CANCELLED
    card.cancel_reason = reason
    card.ended_at = clock.now()
    card.ended_by_ref = actor_ref(actor)
    card.save(update_fields=["status", "cancel_reason", "ended_at", "ended_by_ref", "updated_at"])
    sessions = end_card_sessions(card)
    audit(
        actor=actor,
        decision=decision,
        action=action,
        card=card,
        before=before,
        after={
            **snapshot(card),
            "revoked_certificates": revoked,
            "revocation_reason": REVOCATION_FOR_CANCEL[reason],
            "sessions_ended": sessions,
        },
    )
    return card


def _reason(reason: str, allowed: frozenset[CancelReason] | None = None) -> CancelReason:
    choices = allowed or frozenset(CancelReason)
    if reason not in {c.value for c in choices}:
        names = ", ".join(sorted(c.value for c in choices))
        raise ValidationFailed(
            f"'{reason}' is not a reason to cancel a card here: use one of {names}.",
            field="reason",
        )
    return CancelReason(reason)


@transaction.atomic
def card_cancel(*, actor: Actor, card: Smartcard, reason: str) -> Smartcard:
    """RA: cancel a card (lost, stolen, damaged, left, faulty). It can never be undone."""
    card = lock_card(card)
    decision = require(actor, Action.CARD_CANCEL, card.holder)
    return cancel_locked(
        actor=actor, action=Action.CARD_CANCEL, decision=decision, card=card, reason=_reason(reason)
    )


@transaction.atomic
def card_report_lost(*, actor: Actor, card: Smartcard, reason: str) -> Smartcard:
    """The holder (or an RA Agent) reports a card lost, stolen or damaged: cancelled at once."""
    card = lock_card(card)
    decision = require(actor, Action.CARD_REPORT_LOSS, card.holder)
    return cancel_locked(
        actor=actor,
        action=Action.CARD_REPORT_LOSS,
        decision=decision,
        card=card,
        reason=_reason(reason, HOLDER_REPORTABLE),
    )
