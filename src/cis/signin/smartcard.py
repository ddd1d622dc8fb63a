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
from typing import Any, NamedTuple

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
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

from cis.audit import refusals
from cis.core import clock, metrics, sql
from cis.core.errors import InvalidState, NotPermitted
from cis.people.models import Person
from cis.pki.models import Certificate, CertificateAuthority, serial_to_hex
from cis.pki.states import CertificateStatus
from cis.smartcards.models import CardCertificate, Smartcard
from cis.smartcards.states import CardStatus
from cis_wire.messages import signin_message

from .challenge import challenge_consume
from .constants import ACR_AAL3, AMR_SMARTCARD, AMR_TLS_CLIENT_CERT, GENERIC_FAILURE
from .models import ChallengePurpose, SignInMethod, SignInSession
from .services import session_draft, session_open, session_start, ticket_draft, ticket_store


@dataclass(frozen=True)
class CardProof:
    """What a sign-in records of a card that passed every check, and whose card it is."""

    person: Person
    certificate_serial: str  # serial_hex, as PKI stores it
    card_id: int
    chip_serial: str


class _Issued(NamedTuple):
    """CIS's record of a certificate, the card it was written to (if any), and its holder."""

    certificate_id: int
    issuer_id: int
    serial_hex: str
    status: str
    der: bytes
    person: Person
    card_id: int | None
    chip_serial: str | None
    holder_id: int | None
    card_status: str | None


class _Leaf(NamedTuple):
    """A presented certificate, parsed: what every sign-in with it needs, worked out once."""

    cert: x509.Certificate
    key: Any  # the certificate's public key
    fingerprint: bytes  # SHA-256 of the DER
    serial_hex: str  # as PKI stores it


# Parsing, the key and the fingerprint are pure functions of the DER, and a holder presents the
# same certificate at every sign-in; remembering them saves ~50 us a sign-in. A DER that does
# not parse raises, and is not remembered.
@functools.lru_cache(maxsize=4096)
def _parsed(der: bytes) -> _Leaf:
    cert = x509.load_der_x509_certificate(der)
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        key = None  # no signature can verify against it; the TLS path never asks
    fingerprint = cert.fingerprint(hashes.SHA256())
    return _Leaf(cert, key, fingerprint, serial_to_hex(cert.serial_number))


def _verify_signature(key: Any, signature: bytes, message: bytes) -> bool:
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


def _chain_ok(leaf: _Leaf, issuer_id: int, at: dt.datetime) -> bool:
    """RFC 5280 path validation to the CIS root, for client authentication, at time `at`.

    A path that validated stays valid for the hour (revocation and the leaf's own dates are
    checked on every sign-in, outside this), which saves a path build per sign-in; the CA rows
    are read only when a path has to be built.
    """
    key = (leaf.fingerprint, issuer_id, int(at.timestamp()) // 3600)
    if key in _chain_cache:
        return True
    authorities = sql.one(_authorities_sql(), [issuer_id])
    if authorities is None:
        return False
    issuing, root = bytes(authorities[0]), authorities[1]
    if not _build_path(leaf.cert, issuing, bytes(root) if root is not None else None, at):
        return False  # only successes are remembered: a failure is always checked again
    if len(_chain_cache) > 50_000:
        _chain_cache.clear()
    _chain_cache[key] = True
    return True


_chain_cache: dict[tuple[bytes, int, int], bool] = {}


@functools.cache
def _authorities_sql() -> str:
    """The issuing CA's certificate and its issuer's (NULL for a root), by the issuing CA's id."""
    ca = functools.partial(sql.column, CertificateAuthority)
    return (
        f"SELECT i.{ca('der')}, r.{ca('der')} FROM {sql.table(CertificateAuthority)} i"  # noqa: S608
        f" LEFT JOIN {sql.table(CertificateAuthority)} r ON r.{ca('id')} = i.{ca('issuer')}"
        f" WHERE i.{ca('id')} = %s"
    )


def _build_path(
    leaf: x509.Certificate, issuing: bytes, root: bytes | None, at: dt.datetime
) -> bool:
    """Validate leaf <- issuing CA <- root; `root` None means the issuing CA is the root."""
    intermediate = _authority_certificate(issuing)
    anchor = _authority_certificate(root if root is not None else issuing)
    verifier = (
        PolicyBuilder()
        .store(Store([anchor]))
        .time(at)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=_EE_POLICY)
        .build_client_verifier()
    )
    try:
        verifier.verify(leaf, [intermediate] if root is not None else [])
    except VerificationError:
        return False
    return True


def _issued_record(leaf: _Leaf, certificate_der: bytes) -> _Issued | None:
    """CIS's record of exactly this certificate, with its holder and its card, in one query.

    Plain SQL (see cis.core.sql): every sign-in reads this, and the ORM's select_related took
    ten times longer to compose than the read takes to run. The joins are select_related's:
    the holder always exists, the card link and card may not.
    """
    for row in sql.rows(_issued_sql(), [leaf.serial_hex]):
        cert_id, issuer_id, serial_hex, status, der, card_id, chip, holder_id, card_status = row[:9]
        if bytes(der) != certificate_der:
            continue
        person = Person.from_db(sql.connection().alias, _PERSON_FIELDS, row[9:])
        return _Issued(
            certificate_id=cert_id,
            issuer_id=issuer_id,
            serial_hex=serial_hex,
            status=status,
            der=bytes(der),
            person=person,
            card_id=card_id,
            chip_serial=chip,
            holder_id=holder_id,
            card_status=card_status,
        )
    return None


# What sign-in reads of the holder: enough to check them, audit them and answer the agent. Any
# other field loads from the database if something asks for it (as with .only()).
# In the model's field order, as Model.from_db() expects them.
_PERSON_FIELDS = [
    f.attname
    for f in Person._meta.concrete_fields
    if f.attname in {"id", "user_id", "given_name", "family_name", "status"}
]


@functools.cache
def _issued_sql() -> str:
    cert = functools.partial(sql.column, Certificate)
    link = functools.partial(sql.column, CardCertificate)
    card = functools.partial(sql.column, Smartcard)
    person = functools.partial(sql.column, Person)
    columns = [
        *(f"c.{cert(f)}" for f in ("id", "issuer", "serial_hex", "status", "der")),
        f"l.{link('card')}",
        *(f"k.{card(f)}" for f in ("chip_serial", "holder", "status")),
        *(f"p.{person(f)}" for f in _PERSON_FIELDS),
    ]
    return (
        f"SELECT {', '.join(columns)} FROM {sql.table(Certificate)} c"  # noqa: S608
        f" JOIN {sql.table(Person)} p ON p.{person('id')} = c.{cert('person')}"
        f" LEFT JOIN {sql.table(CardCertificate)} l ON l.{link('certificate')} = c.{cert('id')}"
        f" LEFT JOIN {sql.table(Smartcard)} k ON k.{card('id')} = l.{link('card')}"
        f" WHERE c.{cert('serial_hex')} = %s"
    )


def _load_leaf(certificate_der: bytes) -> _Leaf:
    try:
        return _parsed(bytes(certificate_der))
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
        message is None or not _verify_signature(leaf.key, signature, message)
    ):
        raise NotPermitted(GENERIC_FAILURE)
    record = _issued_record(leaf, certificate_der)
    if record is None:
        raise NotPermitted(GENERIC_FAILURE)
    if leaf.cert.not_valid_after_utc < at:
        raise NotPermitted(
            "The certificate on your card has expired. Ask your Registration Authority to "
            "renew it with you present."
        )
    if leaf.cert.not_valid_before_utc > at:
        raise NotPermitted(
            "The certificate on your card is not valid yet. Check this computer's clock."
        )
    if not _chain_ok(leaf, record.issuer_id, at):
        raise NotPermitted(GENERIC_FAILURE)
    _check_status(record, chip_serial)
    assert record.card_id is not None and record.chip_serial is not None  # noqa: S101 - checked
    return CardProof(
        person=record.person,
        certificate_serial=record.serial_hex,
        card_id=record.card_id,
        chip_serial=record.chip_serial,
    )


def _check_status(record: _Issued, chip_serial: str) -> None:
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
    if record.card_id is None or record.holder_id != record.person.pk:
        raise NotPermitted(GENERIC_FAILURE)
    if chip_serial and record.chip_serial != chip_serial:
        raise NotPermitted(GENERIC_FAILURE)
    status = record.card_status
    if status == CardStatus.LOCKED:
        raise NotPermitted(
            "Your card is locked. Unlock it yourself with a one-time code "
            "(cis-agent unlock --self), or ask your Local Smartcard Administrator."
        )
    if status == CardStatus.CANCELLED:
        raise NotPermitted(
            "This card has been cancelled and can never be used again. Ask your Registration "
            "Authority for a replacement."
        )
    if status == CardStatus.ISSUED:
        raise NotPermitted(
            "Your card has not finished being set up. Ask your Registration Authority to "
            "complete it."
        )
    if status != CardStatus.ACTIVE:
        raise NotPermitted("This card is not in use. Ask your Registration Authority for a card.")


@dataclass(frozen=True)
class SmartcardSignIn:
    session: SignInSession
    ticket: str  # the browser's one-time link secret
    agent_token: str  # for the agent's heartbeats


@metrics.counts_sign_ins("smartcard")
@refusals.records_failed_sign_ins("smartcard")
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
    The checks, the new session's row and the link are made before the transaction opens: on
    SQLite it holds the write lock that every other worker's sign-in waits for.
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
    draft = session_draft(
        person=proof.person,
        method=SignInMethod.SMARTCARD,
        acr=ACR_AAL3,
        amr=list(AMR_SMARTCARD),
        card_serial=proof.chip_serial,
        card_id=proof.card_id,
        certificate_serial=proof.certificate_serial,
        workstation=workstation,
        client_address=client_address,
        agent_token=agent_token,
    )
    ticket, ticket_row = ticket_draft()
    with transaction.atomic():
        session = session_open(draft)
        ticket_store(ticket_row, session)
    return SmartcardSignIn(session=session, ticket=ticket, agent_token=agent_token)


@metrics.counts_sign_ins("tls_client_cert")
@refusals.records_failed_sign_ins("tls_client_cert")
def tls_client_cert_sign_in(*, certificate_der: bytes, client_address: str) -> SignInSession:
    """A trusted TLS-terminating proxy verified possession of the card's key in the handshake."""
    proof = prove_card(
        certificate_der=certificate_der, signature=None, message=None, chip_serial=""
    )
    return session_start(
        person=proof.person,
        method=SignInMethod.TLS_CLIENT_CERT,
        acr=ACR_AAL3,
        amr=list(AMR_TLS_CLIENT_CERT),
        card_serial=proof.chip_serial,
        card_id=proof.card_id,
        certificate_serial=proof.certificate_serial,
        workstation="browser (TLS)",
        client_address=client_address,
    )


__all__ = ["InvalidState", "smartcard_sign_in", "tls_client_cert_sign_in"]
