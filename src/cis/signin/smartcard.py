"""Smartcard sign-in: the card signed our nonce; check the certificate, card, person and role.

The order matters for privacy. Until the signature over the nonce verifies against a
certificate CIS issued, every failure reads the same (GENERIC_FAILURE), so nobody learns
whether an account or a card exists. Once it verifies, the caller has proved they hold the
card and know its passcode, and is told exactly what to do next.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)
from django.db import transaction

from cis.core import clock
from cis.core.errors import InvalidState, NotPermitted
from cis.pki.models import Certificate, CertificateAuthority, serial_to_hex
from cis.pki.states import CertificateStatus
from cis.smartcards.models import CardCertificate, Smartcard
from cis.smartcards.states import CardStatus
from cis_agent.login import signin_message

from .challenge import challenge_consume
from .constants import ACR_AAL3, AMR_SMARTCARD, AMR_TLS_CLIENT_CERT, GENERIC_FAILURE
from .models import ChallengePurpose, SignInMethod, SignInSession
from .services import session_start, ticket_create


@dataclass(frozen=True)
class CardProof:
    certificate: Certificate
    card: Smartcard


def _verify_signature(cert: x509.Certificate, signature: bytes, message: bytes) -> bool:
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


# Web PKI rules for the leaf, except that a smartcard certificate names its holder in the
# subject (name and user id), not in a subjectAltName, so that extension is optional here.
_EE_POLICY = ExtensionPolicy.webpki_defaults_ee().may_be_present(
    x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
)


@functools.lru_cache(maxsize=16)
def _authority_certificate(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def _chain_ok(leaf: x509.Certificate, issuer_id: int, at: dt.datetime) -> bool:
    """RFC 5280 path validation to the CIS root, for client authentication, at time `at`.

    A path that validated stays valid for the hour (revocation and the leaf's own dates are
    checked on every sign-in, outside this), which saves a path build per sign-in; the CA rows
    are read only when a path has to be built.
    """
    key = (leaf.fingerprint(hashes.SHA256()), issuer_id, int(at.timestamp()) // 3600)
    if key in _chain_cache:
        return True
    issuing = CertificateAuthority.objects.select_related("issuer").get(pk=issuer_id)
    if not _build_path(leaf, issuing, at):
        return False  # only successes are remembered: a failure is always checked again
    if len(_chain_cache) > 50_000:
        _chain_cache.clear()
    _chain_cache[key] = True
    return True


_chain_cache: dict[tuple[bytes, int, int], bool] = {}


def _build_path(leaf: x509.Certificate, issuing: CertificateAuthority, at: dt.datetime) -> bool:
    intermediate = _authority_certificate(bytes(issuing.der))
    root_row = issuing.issuer or issuing
    root = _authority_certificate(bytes(root_row.der))
    verifier = (
        PolicyBuilder()
        .store(Store([root]))
        .time(at)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=_EE_POLICY)
        .build_client_verifier()
    )
    try:
        verifier.verify(leaf, [intermediate] if root_row is not issuing else [])
    except VerificationError:
        return False
    return True


def _issued_record(leaf: x509.Certificate, certificate_der: bytes) -> Certificate | None:
    """CIS's record of exactly this certificate, with its holder and its card, in one query."""
    candidates = (
        Certificate.objects.select_related("person", "card_link__card")
        .filter(serial_hex=serial_to_hex(leaf.serial_number))
        .order_by()  # the model's ordering would cost more to compile than the query to run
    )
    for record in candidates:
        if bytes(record.der) == certificate_der:
            return record
    return None


def _load_leaf(certificate_der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        raise NotPermitted(GENERIC_FAILURE) from None


def prove_card(
    *, certificate_der: bytes, signature: bytes | None, message: bytes | None, chip_serial: str
) -> CardProof:
    """Check possession (when a signature is given) and everything CIS knows about the card.

    With signature None the caller vouches for possession (a TLS handshake at a trusted proxy).
    """
    at = clock.now()
    leaf = _load_leaf(certificate_der)
    if signature is not None and (
        message is None or not _verify_signature(leaf, signature, message)
    ):
        raise NotPermitted(GENERIC_FAILURE)
    record = _issued_record(leaf, certificate_der)
    if record is None:
        raise NotPermitted(GENERIC_FAILURE)
    if leaf.not_valid_after_utc < at:
        raise NotPermitted(
            "The certificate on your card has expired. Ask your Registration Authority to "
            "renew it with you present."
        )
    if leaf.not_valid_before_utc > at:
        raise NotPermitted(
            "The certificate on your card is not valid yet. Check this computer's clock."
        )
    if not _chain_ok(leaf, record.issuer_id, at):
        raise NotPermitted(GENERIC_FAILURE)
    link: CardCertificate | None = getattr(record, "card_link", None)
    card = link.card if link is not None else None
    _check_status(record, card, chip_serial)
    assert card is not None  # noqa: S101 - _check_status refuses a certificate with no card
    return CardProof(certificate=record, card=card)


def _check_status(record: Certificate, card: Smartcard | None, chip_serial: str) -> None:
    if record.status == CertificateStatus.SUPERSEDED:
        raise NotPermitted(
            "This certificate has been replaced by a newer one. Finish renewing your card "
            "(cis-agent renew) or ask your Local Smartcard Administrator."
        )
    if record.status != CertificateStatus.VALID:
        raise NotPermitted(
            "The certificate on your card has been revoked. Ask your Registration Authority "
            "for a new card."
        )
    if card is None or card.holder_id != record.person_id:
        raise NotPermitted(GENERIC_FAILURE)
    if chip_serial and card.chip_serial != chip_serial:
        raise NotPermitted(GENERIC_FAILURE)
    if card.status == CardStatus.LOCKED:
        raise NotPermitted(
            "Your card is locked. Unlock it yourself with a one-time code "
            "(cis-agent unlock --self), or ask your Local Smartcard Administrator."
        )
    if card.status == CardStatus.CANCELLED:
        raise NotPermitted(
            "This card has been cancelled and can never be used again. Ask your Registration "
            "Authority for a replacement."
        )
    if card.status == CardStatus.ISSUED:
        raise NotPermitted(
            "Your card has not finished being set up. Ask your Registration Authority to "
            "complete it."
        )
    if card.status != CardStatus.ACTIVE:
        raise NotPermitted("This card is not in use. Ask your Registration Authority for a card.")


@dataclass(frozen=True)
class SmartcardSignIn:
    session: SignInSession
    ticket: str  # the browser's one-time link secret
    agent_token: str  # for the agent's heartbeats


def smartcard_sign_in(
    *,
    challenge_id: str,
    chip_serial: str,
    certificate_der: bytes,
    signature: bytes,
    workstation: str = "",
    client_address: str = "",
) -> SmartcardSignIn:
    """The agent's answer to a challenge: a new sign-in session at AAL3, or a refusal.

    The challenge is used up first, in its own statement, so a failed answer cannot be retried.
    """
    challenge = challenge_consume(challenge_id=challenge_id, purpose=ChallengePurpose.SMARTCARD)
    message = signin_message(
        challenge_id=str(challenge.id), nonce=challenge.nonce, chip_serial=chip_serial
    )
    proof = prove_card(
        certificate_der=certificate_der,
        signature=signature,
        message=message,
        chip_serial=chip_serial,
    )
    agent_token = secrets.token_urlsafe(32)
    with transaction.atomic():
        session = session_start(
            person=proof.certificate.person,
            method=SignInMethod.SMARTCARD,
            acr=ACR_AAL3,
            amr=list(AMR_SMARTCARD),
            card_serial=proof.card.chip_serial,
            card_id=proof.card.pk,
            certificate_serial=proof.certificate.serial_hex,
            workstation=workstation,
            client_address=client_address,
            agent_token=agent_token,
        )
        ticket = ticket_create(session)
    return SmartcardSignIn(session=session, ticket=ticket, agent_token=agent_token)


def tls_client_cert_sign_in(*, certificate_der: bytes, client_address: str) -> SignInSession:
    """A trusted TLS-terminating proxy verified possession of the card's key in the handshake."""
    proof = prove_card(
        certificate_der=certificate_der, signature=None, message=None, chip_serial=""
    )
    return session_start(
        person=proof.certificate.person,
        method=SignInMethod.TLS_CLIENT_CERT,
        acr=ACR_AAL3,
        amr=list(AMR_TLS_CLIENT_CERT),
        card_serial=proof.card.chip_serial,
        card_id=proof.card.pk,
        certificate_serial=proof.certificate.serial_hex,
        workstation="browser (TLS)",
        client_address=client_address,
    )


__all__ = ["InvalidState", "smartcard_sign_in", "tls_client_cert_sign_in"]
