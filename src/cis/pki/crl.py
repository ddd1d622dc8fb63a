"""The CRLs (RFC 5280 §5): the issuing CA's, rebuilt on every revocation and at least daily,
and the root's, which covers the issuing CA certificate for clients that check the whole chain.

The root certifies only CIS's own issuing CAs, and CIS never revokes one (a new issuing CA
takes over at `cis ca init` on a new hierarchy, and the old one's certificates run out), so the
root's CRL lists nothing; it is still signed, numbered and republished on the same cadence, so
that a client checking every certificate in the chain (`openssl verify -crl_check_all`) finds
a current one at the URL the issuing CA certificate names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.db import transaction

from cis.core import clock
from cis.core.errors import InvalidState

from . import authority, config
from .models import AuthorityRole, Certificate, CertificateAuthority, CrlState
from .states import REASON_FLAGS, CertificateStatus


@dataclass(frozen=True)
class PublishedCrl:
    number: int
    this_update: dt.datetime
    next_update: dt.datetime
    entries: int
    der: bytes


def _whole_seconds(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(microsecond=0)


def build_crl(
    issuing_ca: authority.LoadedAuthority,
    *,
    number: int,
    this_update: dt.datetime,
    next_update: dt.datetime,
    revoked: list[tuple[str, dt.datetime, str]],
) -> bytes:
    """Sign a CRL listing (serial hex, revocation time, reason) entries."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuing_ca.certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(issuing_ca.issuer.key_identifier, critical=False)
    )
    for serial_hex, revoked_at, reason in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(serial_hex, 16))
            .revocation_date(_whole_seconds(revoked_at))
        )
        flag = REASON_FLAGS.get(reason)
        if flag is not None:  # unspecified is expressed by leaving reasonCode out (BR 7.2.2)
            entry = entry.add_extension(x509.CRLReason(flag), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(issuing_ca.key, issuing_ca.signature_hash)
    return crl.public_bytes(serialization.Encoding.DER)


def _entries(ca: authority.LoadedAuthority, at: dt.datetime) -> list[tuple[str, dt.datetime, str]]:
    """Every revoked certificate that has not yet expired: entries stay until notAfter passes."""
    if ca.issuer_id is None:
        return []  # the root: none of the CA certificates it signs is ever revoked (see above)
    rows = (
        Certificate.objects.filter(issuer_id=ca.id, not_after__gte=at)
        .exclude(status=CertificateStatus.VALID)
        .order_by("revoked_at", "serial_hex")
        .values_list("serial_hex", "revoked_at", "revocation_reason")
    )
    return [(serial, revoked_at, reason) for serial, revoked_at, reason in rows if revoked_at]


def publish_locked(issuing_ca: authority.LoadedAuthority) -> PublishedCrl:
    """Build and store the next CRL. Call inside the transaction that changed revocations."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("publish_locked must run inside the revocation's transaction")
    state, _ = CrlState.objects.select_for_update().get_or_create(issuer_id=issuing_ca.id)
    this_update = _whole_seconds(clock.now())
    next_update = this_update + config.crl_lifetime()
    revoked = _entries(issuing_ca, this_update)
    state.number += 1
    der = build_crl(
        issuing_ca,
        number=state.number,
        this_update=this_update,
        next_update=next_update,
        revoked=revoked,
    )
    state.this_update = this_update
    state.next_update = next_update
    state.entries = len(revoked)
    state.der = der
    state.save()
    return PublishedCrl(state.number, this_update, next_update, len(revoked), der)


def _due(state: CrlState | None, at: dt.datetime) -> bool:
    if state is None or state.der is None or state.this_update is None:
        return True
    return at >= state.this_update + config.crl_republish_after()


def _authority(role: str) -> authority.LoadedAuthority:
    if role == AuthorityRole.ISSUING:
        return authority.issuing()
    loaded = authority.current(role)
    if loaded is None:
        raise InvalidState(authority.NOT_SET_UP)
    return loaded


def crl_publish(*, force: bool = True, role: str = AuthorityRole.ISSUING) -> PublishedCrl:
    """Publish now (force) or only when the last CRL is a day old (the scheduled job)."""
    issuing_ca = _authority(role)
    with transaction.atomic():
        state = CrlState.objects.select_for_update().filter(issuer_id=issuing_ca.id).first()
        if not force and not _due(state, clock.now()) and state is not None:
            return _as_published(state)
        return publish_locked(issuing_ca)


def crl_publish_if_due() -> PublishedCrl:
    """The daily job (`cis ca crl`): idempotent, safe to run on several machines at once.

    It also renews the OCSP responder certificate when due and destroys retired responder keys.
    """
    published = crl_publish(force=False)
    crl_publish(force=False, role=AuthorityRole.ROOT)
    authority.ocsp_signer(authority.issuing())
    authority.destroy_retired_keys()
    return published


def _as_published(state: CrlState) -> PublishedCrl:
    if state.this_update is None or state.next_update is None or state.der is None:
        raise InvalidState("No CRL has been published yet: run `cis ca crl`.")
    return PublishedCrl(
        state.number, state.this_update, state.next_update, state.entries, bytes(state.der)
    )


def current_crl(role: str = AuthorityRole.ISSUING) -> PublishedCrl:
    """What /pki/crl (or /pki/root.crl) serves: the stored CRL, republished first if the job
    has fallen behind."""
    row: CertificateAuthority | None = authority.active_row(role)
    if row is None:
        raise InvalidState(authority.NOT_SET_UP)
    state = CrlState.objects.filter(issuer=row).first()
    if _due(state, clock.now()) or state is None:
        if role == AuthorityRole.ISSUING:
            return crl_publish_if_due()
        return crl_publish(force=False, role=role)
    return _as_published(state)
