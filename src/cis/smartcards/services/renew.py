"""Renewing the certificate on a card: from 90 days before expiry, or after it with the RA."""

from __future__ import annotations

from django.db import transaction

from cis.authz.actions import Action
from cis.authz.policy import Actor, can, require
from cis.core import clock
from cis.core.errors import InvalidState
from cis.workflow.services import card_authorisation

from .. import conf
from ..models import Smartcard
from ..states import CardStatus, OperationKind
from .common import (
    Released,
    audit,
    current_link,
    lock_card,
    open_operation,
    require_live,
    snapshot,
)
from .issue import require_holder_present


@transaction.atomic
def card_renew(*, actor: Actor, card: Smartcard, holder_present: bool = False) -> Released:
    """Start a renewal: the agent makes a new key, proves the request with the old one, and
    finishes with card_certificate_request and card_operation_complete."""
    card = lock_card(card)
    require_live(card)
    link = current_link(card)
    if card.status == CardStatus.ISSUED or link is None:
        raise InvalidState(
            "This card has no certificate yet; finish issuing it (or ask your RA to repair it)."
        )
    if card.status == CardStatus.LOCKED:
        raise InvalidState("This card is locked; unlock it before renewing its certificate.")
    not_after = link.certificate.not_after
    now = clock.now()
    opens = not_after - conf.renewal_window()
    if now < opens:
        raise InvalidState(
            f"This certificate can be renewed from {opens.date().isoformat()} (90 days before "
            f"it expires on {not_after.date().isoformat()})."
        )
    expired = now >= not_after
    action = Action.CARD_RENEW_EXPIRED if expired else Action.CARD_RENEW
    if (
        expired
        and not can(actor, action, card.holder)
        and can(actor, Action.CARD_RENEW, card.holder)
    ):
        raise InvalidState(
            f"This certificate expired on {not_after.date().isoformat()}. After expiry only an "
            "RA Agent can renew it, with the holder present."
        )
    decision = require(actor, action, card.holder)
    if expired:
        require_holder_present(holder_present)
    fulfils = card_authorisation(person=card.holder, operation="renew_expired") if expired else None
    operation = open_operation(
        card=card,
        kind=OperationKind.RENEW,
        action=action,
        actor=actor,
        decision=decision,
        fulfils=fulfils,
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
            "certificate": link.certificate.serial_hex,
            "expired": expired,
            "fulfils": fulfils.ref if fulfils else "",
        },
    )
    return Released(operation=operation)
