"""The agent's later steps of an operation: ask for the certificate, then say it is done."""

from __future__ import annotations

import hmac

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.db import transaction

from cis.authz.actions import Action
from cis.authz.policy import Actor, Decision, decide, require
from cis.core import clock
from cis.core.digests import secret_digest
from cis.core.errors import Conflict, InvalidState, NotFound, NotPermitted, ValidationFailed
from cis.people.models import Person
from cis.pki.services import certificate_issue, certificate_supersede
from cis.workflow.models import Request
from cis.workflow.services import request_fulfil
from cis.workflow.states import RequestState
from cis_wire.messages import renewal_message
from cis_wire.signatures import verify_signature

from ..models import CardCertificate, CardOperation, Smartcard
from ..states import CERTIFYING, REVOCATION_FOR_CLEAR, CardStatus, OperationKind
from .cancel import end_card_sessions, revoke_all
from .common import (
    actor_ref,
    audit,
    check_chip,
    confirm_so_pin,
    current_link,
    live_certificates,
    lock_card,
    require_live,
    snapshot,
)


def _operation(
    *, actor: Actor | None, operation_ref: str, secret: str = "", for_update: bool = True
) -> CardOperation:
    """The operation, checked to belong to this actor (or to the bearer of its secret)."""
    query = CardOperation.objects.select_related("card", "card__holder")
    if for_update:
        query = query.select_for_update()
    operation = query.filter(ref=operation_ref).first()
    if operation is None:
        raise NotFound("CIS knows no such card operation; start again.")
    if operation.secret_digest:
        if not hmac.compare_digest(secret_digest(secret), operation.secret_digest):
            raise NotPermitted("This step belongs to another card operation.")
    elif actor is None or actor_ref(actor) != operation.actor_ref:
        raise NotPermitted("This card operation was started by someone else.")
    if operation.completed_at is not None:
        raise InvalidState("This card operation is already finished.")
    if operation.abandoned_at is not None:
        raise InvalidState("This card operation was replaced or stopped; start again.")
    return operation


def _acting(actor: Actor | None, operation: CardOperation) -> Actor:
    """Who acts in a later step: the signed-in actor, or the holder who proved the secret."""
    if actor is not None:
        return actor
    # Continued with the operation's secret: whoever started it (an LSA for a task they asked
    # the agent to do), or the holder for a self-unlock.
    started_by: Person = operation.actor or operation.card.holder
    return started_by


def _recheck(actor: Actor, operation: CardOperation, card: Smartcard) -> Decision:
    """Rights can change mid-operation: every step asks the policy again."""
    return require(actor, Action(operation.action), card.holder)


def _spki(cert_or_csr: x509.Certificate | x509.CertificateSigningRequest) -> bytes:
    return cert_or_csr.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def card_certificate_request(
    *,
    actor: Actor | None,
    operation_ref: str,
    chip_serial: str,
    csr_pem: bytes,
    renewal_proof: bytes | None = None,
    secret: str = "",
) -> CardCertificate:
    """Certify the key the card just made; a renewal must be signed by the card's old key too."""
    with transaction.atomic():
        operation = _operation(actor=actor, operation_ref=operation_ref, secret=secret)
        acting = _acting(actor, operation)
        if operation.kind not in CERTIFYING:
            raise InvalidState("This card operation does not issue a certificate.")
        if operation.expires_at <= clock.now():
            raise InvalidState("This card operation timed out; start again.")
        card = lock_card(operation.card)
        require_live(card)
        check_chip(card, chip_serial)
        decision = _recheck(acting, operation, card)
        try:
            request = x509.load_pem_x509_csr(csr_pem)
        except ValueError:
            raise ValidationFailed(
                "This is not a readable certificate signing request (PEM).", field="csr"
            ) from None
        earlier = CardCertificate.objects.filter(operation=operation).select_related("certificate")
        for link in earlier:
            held = x509.load_der_x509_certificate(bytes(link.certificate.der))
            if _spki(held) == _spki(request):
                return link  # the agent asking again for the same key: same answer
            raise Conflict("A certificate was already issued in this step; start again.")
        if operation.kind == OperationKind.RENEW:
            _check_renewal_proof(card, operation, request, renewal_proof)
        cert = certificate_issue(
            actor=acting,
            person=card.holder,
            csr_pem=csr_pem,
            card_ref=card.chip_serial,
            card_action=Action(operation.action),
        )
        link = CardCertificate.objects.create(card=card, certificate=cert, operation=operation)
        audit(
            actor=acting,
            decision=decision,
            action=Action(operation.action),
            card=card,
            after={
                **snapshot(card),
                "step": "certificate_issued",
                "operation": operation.ref,
                "certificate": cert.serial_hex,
            },
        )
        return link


def _check_renewal_proof(
    card: Smartcard,
    operation: CardOperation,
    request: x509.CertificateSigningRequest,
    proof: bytes | None,
) -> None:
    old = current_link(card)
    if old is None:
        raise InvalidState("This card has no certificate to renew; ask your RA to repair it.")
    old_cert = x509.load_der_x509_certificate(bytes(old.certificate.der))
    if _spki(old_cert) == _spki(request):
        raise ValidationFailed(
            "A renewal needs a new key pair made on the card, not the old key.", field="csr"
        )
    message = renewal_message(
        challenge=operation.challenge,
        chip_serial=card.chip_serial,
        csr_der=request.public_bytes(serialization.Encoding.DER),
    )
    if not proof or not verify_signature(_spki(old_cert), proof, message):
        raise ValidationFailed(
            "The renewal was not signed with the card's current key, so it cannot be trusted. "
            "Use the card the certificate is on.",
            field="renewal_proof",
        )


def card_operation_complete(
    *,
    actor: Actor | None,
    operation_ref: str,
    chip_serial: str,
    certificate_serial: str = "",
    so_pin_rotated: bool = False,
    secret: str = "",
) -> Smartcard:
    """The agent reports the card is done: only now does CIS change what it believes."""
    with transaction.atomic():
        operation = _operation(actor=actor, operation_ref=operation_ref, secret=secret)
        acting = _acting(actor, operation)
        card = lock_card(operation.card)
        require_live(card)
        check_chip(card, chip_serial)
        decision = _recheck(acting, operation, card)
        before = snapshot(card)
        now = clock.now()
        after: dict[str, object] = {"step": "completed", "operation": operation.ref}
        if operation.kind in CERTIFYING:
            after.update(_install(acting, operation, card, certificate_serial))
        if operation.kind == OperationKind.CLEAR:
            revoked = revoke_all(
                actor=acting,
                action=Action(operation.action),
                card=card,
                reason=REVOCATION_FOR_CLEAR,
            )
            card.status = CardStatus.CLEARED
            card.ended_at = now
            card.ended_by_ref = actor_ref(acting)
            after.update(revoked_certificates=revoked, sessions_ended=end_card_sessions(card))
        else:
            if card.status != CardStatus.ACTIVE:
                card.activated_at = card.activated_at or now
            card.status = CardStatus.ACTIVE
            card.locked_at = None
        if so_pin_rotated and operation.kind != OperationKind.CLEAR:
            confirm_so_pin(card, operation)
        after["so_pin_rotation_due"] = card.so_pin_rotation_due
        card.save()
        operation.completed_at = now
        operation.save(update_fields=["completed_at", "updated_at"])
        fulfilled = _fulfil(acting, operation, card)
        if fulfilled:
            after["fulfilled"] = fulfilled
        audit(
            actor=acting,
            decision=decision,
            action=Action(operation.action),
            card=card,
            before=before,
            after={**snapshot(card), **after},
        )
        return card


def _fulfil(actor: Actor, operation: CardOperation, card: Smartcard) -> str:
    """Close the card request this operation carried out, in the operation's transaction.

    A request cancelled (or already closed) while the card was being made is left as it is:
    the card is real either way, and its history says which request it answered.
    """
    if operation.request_id is None:
        return ""
    request = Request.objects.get(pk=operation.request_id)
    if request.state != RequestState.APPROVED:
        return ""
    what = "Certificate renewed on" if operation.kind == OperationKind.RENEW else "Card issued:"
    request_fulfil(
        actor=actor,
        request=request,
        result_ref=f"card:{card.chip_serial}",
        note=f"{what} card {card.chip_serial}.",
    )
    return request.ref


def _install(
    actor: Actor,
    operation: CardOperation,
    card: Smartcard,
    certificate_serial: str,
) -> dict[str, object]:
    link = CardCertificate.objects.select_related("certificate").filter(operation=operation).first()
    if link is None:
        raise InvalidState("No certificate was issued in this step yet.")
    if link.certificate.serial_hex.lstrip("0") != certificate_serial.lower().lstrip("0"):
        raise ValidationFailed(
            "The certificate on the card is not the one issued in this step.",
            field="certificate_serial",
        )
    return install(actor, Action(operation.action), card, link)


def install(
    actor: Actor, action: Action, card: Smartcard, link: CardCertificate
) -> dict[str, object]:
    """Mark a certificate as on the card, then retire every older one the card had, each as a
    step of the card action that put the new one there."""
    link.installed_at = clock.now()
    link.save(update_fields=["installed_at", "updated_at"])
    # Only now, with the new certificate safely on the card, do the older ones go.
    superseded = []
    for old in live_certificates(card):
        if old.pk == link.certificate_id:
            continue
        certificate_supersede(
            actor=actor, certificate=old, replacement=link.certificate, card_action=action
        )
        superseded.append(old.serial_hex)
    return {"certificate": link.certificate.serial_hex, "superseded_certificates": superseded}


def install_proven(*, holder: Person, link: CardCertificate) -> None:
    """A card just signed with a certificate CIS issued but was never told was written: it is
    on the card, so finish what an agent cut short (an interrupted renewal, say).

    This is the operation's last step, taken for whoever started it (the holder, for their own
    renewal), and like every step it asks the policy again: if that person may no longer take
    the operation's action, the certificate stays uninstalled and the sign-in goes on.
    """
    card = lock_card(link.card)
    operation_row = link.operation
    if link.installed_at is not None or not card.live or operation_row is None:
        return
    acting = _acting(None, operation_row)
    action = Action(operation_row.action)
    decision = decide(acting, action, card.holder)
    if not decision.allowed:
        return
    before = snapshot(card)
    after = install(acting, action, card, link)
    for operation in CardOperation.objects.filter(certificates=link, completed_at__isnull=True):
        operation.completed_at = clock.now()
        operation.save(update_fields=["completed_at", "updated_at"])
        if operation.actor is not None:
            # The RA Agent who started it carried the request out; the sign-in only proved it.
            _fulfil(operation.actor, operation, card)
    if card.status == CardStatus.ISSUED:
        card.status = CardStatus.ACTIVE
        card.activated_at = clock.now()
        card.save(update_fields=["status", "activated_at", "updated_at"])
    audit(
        actor=acting,
        decision=decision,
        action=action,
        card=card,
        before=before,
        after={**snapshot(card), **after, "step": "found_on_card", "operation": operation_row.ref},
    )
