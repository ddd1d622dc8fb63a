"""The issuing CA's CRL (RFC 5280 §5): rebuilt on every revocation and at least daily."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.db import transaction

from cis.core import clock
from cis.core.errors import InvalidState

from . import authority, config
from .models import AuthorityRole, Certificate, CrlState
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


def _entries(issuer_id: int, at: dt.datetime) -> list[tuple[str, dt.datetime, str]]:
    """Every revoked certificate that has not yet expired: entries stay until notAfter passes."""
    rows = (
        Certificate.objects.filter(issuer_id=issuer_id, not_after__gte=at)
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
    revoked = _entries(issuing_ca.id, this_update)
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


def crl_publish(*, force: bool = True) -> PublishedCrl:
    """Publish now (force) or only when the last CRL is a day old (the scheduled job)."""
    issuing_ca = authority.issuing()
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
    authority.ocsp_signer(authority.issuing())
    authority.destroy_retired_keys()
    return published


def _as_published(state: CrlState) -> PublishedCrl:
    if state.this_update is None or state.next_update is None or state.der is None:
        raise InvalidState("No CRL has been published yet: run `cis ca crl`.")
    return PublishedCrl(
        state.number, state.this_update, state.next_update, state.entries, bytes(state.der)
    )


def current_crl() -> PublishedCrl:
    """What /pki/crl serves: the stored CRL, republished first if the job has fallen behind."""
    issuing_row = authority.active_row(AuthorityRole.ISSUING)
    if issuing_row is None:
        raise InvalidState(authority.NOT_SET_UP)
    state = CrlState.objects.filter(issuer=issuing_row).first()
    if _due(state, clock.now()) or state is None:
        return crl_publish_if_due()
    return _as_published(state)
