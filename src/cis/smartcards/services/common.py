"""What every card service shares: finding and locking a card, its events, SO PIN release."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, Decision
from cis.authz.scope import active_assignments
from cis.core import clock
from cis.core.digests import secret_digest
from cis.core.errors import InvalidState
from cis.people.models import Person
from cis.pki.models import Certificate
from cis.pki.states import CertificateStatus
from cis.rbac.models import PositionAssignment
from cis.workflow.models import Request

from .. import conf, envelope
from ..models import CardCertificate, CardEvent, CardOperation, Smartcard
from ..states import CardStatus, OperationKind


@dataclass
class Released:
    """An operation started for the agent, with the secrets it needs (never stored in clear)."""

    operation: CardOperation
    so_pins: list[str] = field(default_factory=list)
    new_so_pin: str = ""
    secret: str = ""


def actor_ref(actor: Actor) -> str:
    return str(getattr(actor, "audit_ref", None) or getattr(actor, "user_id", ""))


def organisation_ref(person: Person) -> str:
    """An ODS code where the holder works, so the event shows in that organisation's audit."""
    code = (
        PositionAssignment.objects.filter(active_assignments(), person=person)
        .order_by("position__organisation__ods_code")
        .values_list("position__organisation__ods_code", flat=True)
        .first()
    )
    return code or ""


def snapshot(card: Smartcard) -> dict[str, Any]:
    return {
        "chip_serial": card.chip_serial,
        "holder": card.holder.user_id,
        "status": card.status,
        "cancel_reason": card.cancel_reason,
    }


def audit(
    *,
    actor: Actor,
    decision: Decision,
    action: Action,
    card: Smartcard,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """The audit event and the card's own history line, in the caller's transaction."""
    detail = {k: v for k, v in (after or {}).items() if k not in ("chip_serial", "holder")}
    CardEvent.objects.create(
        card=card, at=clock.now(), kind=str(action), actor_ref=actor_ref(actor), detail=detail
    )
    record(
        actor=actor,
        rule=decision.rule,
        action=action,
        target_type="smartcard",
        target_ref=card.chip_serial,
        organisation_ref=organisation_ref(card.holder),
        before=before,
        after=after,
    )


def lock_card(card: Smartcard) -> Smartcard:
    return Smartcard.objects.select_for_update().select_related("holder").get(pk=card.pk)


def ended_message(card: Smartcard) -> str:
    when = card.ended_at.date().isoformat() if card.ended_at else "earlier"
    if card.status == CardStatus.CANCELLED:
        return (
            f"This card was cancelled ({card.get_cancel_reason_display().lower()}) on {when} and "
            "can never be used again. Ask your RA for a replacement card."
        )
    return f"This card was cleared for reuse on {when}; it belongs to nobody until an RA issues it."


def require_live(card: Smartcard) -> None:
    if not card.live:
        raise InvalidState(ended_message(card))


def check_chip(card: Smartcard, chip_serial: str) -> None:
    """The card in the reader must be the card the step is about."""
    if card.chip_serial != chip_serial.strip():
        raise InvalidState(
            "The card in the reader is not the card this step started with. Put card "
            f"{card.chip_serial} back in the reader."
        )


def so_context(card: Smartcard) -> str:
    return f"smartcard-so-pin:{card.chip_serial}:{card.issued_at.isoformat()}"


def lock_report_key(card: Smartcard) -> bytes:
    """The card's own key for reporting itself locked; derived, so never stored in CIS.

    Written to the card when it is personalised or renewed; only the card (or whoever holds
    it, who could lock it anyway) can MAC a lock report with it.
    """
    return envelope.derive(f"smartcard-lock-report:{card.chip_serial}:{card.issued_at.isoformat()}")


def new_so_pin() -> str:
    return f"{secrets.randbelow(10**conf.SO_PIN_DIGITS):0{conf.SO_PIN_DIGITS}d}"


def seal_so_pin(card: Smartcard, pin: str) -> str:
    return envelope.seal(pin, context=so_context(card))


def release_so_pins(card: Smartcard) -> tuple[list[str], str, str]:
    """The PINs the card may hold now (most likely first) and a new one to rotate to.

    The new one is kept as unconfirmed until the agent says it is on the card: if the agent
    stops half-way, the card holds one of these and none of them is lost.
    """
    context = so_context(card)
    candidates = [envelope.unseal(card.so_pin_sealed, context=context)]
    candidates += [envelope.unseal(s, context=context) for s in reversed(card.so_pin_unconfirmed)]
    pin = new_so_pin()
    sealed = envelope.seal(pin, context=context)
    card.so_pin_unconfirmed = [*card.so_pin_unconfirmed, sealed]
    return candidates, pin, sealed


def confirm_so_pin(card: Smartcard, operation: CardOperation) -> None:
    """The agent rotated the card to this operation's new SO PIN."""
    if operation.new_so_pin_sealed:
        card.so_pin_sealed = operation.new_so_pin_sealed
        card.so_pin_unconfirmed = []


def open_operation(
    *,
    card: Smartcard,
    kind: OperationKind,
    action: Action,
    actor: Actor,
    decision: Decision,
    new_so_pin_sealed: str = "",
    secret: str = "",
    fulfils: Request | None = None,
) -> CardOperation:
    # A new step of the same kind replaces any unfinished one: only one is ever open.
    CardOperation.objects.filter(
        card=card, kind=kind, completed_at__isnull=True, abandoned_at__isnull=True
    ).update(abandoned_at=clock.now())
    return CardOperation.objects.create(
        ref=secrets.token_hex(12),
        card=card,
        kind=kind,
        action=str(action),
        actor=actor if isinstance(actor, Person) else None,
        actor_ref=actor_ref(actor),
        rule=decision.rule,
        challenge=secrets.token_hex(32),
        secret_digest=secret_digest(secret) if secret else "",
        new_so_pin_sealed=new_so_pin_sealed,
        request=fulfils,
        expires_at=clock.now() + conf.operation_lifetime(),
    )


def live_certificates(card: Smartcard) -> list[Certificate]:
    """Certificates issued for the card that are still valid (installed or not)."""
    return list(
        Certificate.objects.filter(card_link__card=card, status=CertificateStatus.VALID)
        .select_related("person", "issuer")
        .order_by("not_before", "id")
    )


def current_link(card: Smartcard) -> CardCertificate | None:
    """The certificate the card presents: the newest installed one that is still valid."""
    return (
        CardCertificate.objects.filter(
            card=card, installed_at__isnull=False, certificate__status=CertificateStatus.VALID
        )
        .select_related("certificate")
        .order_by("-certificate__not_before", "-id")
        .first()
    )


def abandon_open_operations(card: Smartcard) -> None:
    CardOperation.objects.filter(
        Q(card=card), Q(completed_at__isnull=True), Q(abandoned_at__isnull=True)
    ).update(abandoned_at=clock.now())
