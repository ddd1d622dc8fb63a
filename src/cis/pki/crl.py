"""The CRLs (RFC 5280 §5): the issuing CA's, published on demand and at least daily, and the
root's, which covers the issuing CA certificate for clients that check the whole chain.

A revocation does not rebuild the CRL (a CRL of a million entries takes seconds to sign, and
rebuilding it per revocation made mass revocation quadratic). It adds a `CrlPending` row in its
own transaction, and OCSP answers "revoked" from the moment it commits. The CRL is published
again when anyone fetches it while a revocation is pending (`/pki/crl`, `current_crl`), by the
scheduled job (`cis ca crl`, which also publishes when pending), and when it is a day old: so a
CRL served is never missing a committed revocation, and a burst of 10,000 revocations costs one
publication, not 10,000. Only one process builds at a time; the others wait for its CRL.

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
from django.db import transaction

from cis.core import clock
from cis.core.errors import InvalidState

from . import authority, config, crl_der
from .models import AuthorityRole, Certificate, CertificateAuthority, CrlPending, CrlState
from .states import CertificateStatus


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
    """Sign a CRL listing (serial hex, revocation time, reason) entries.

    Written by cis.pki.crl_der rather than cryptography's CertificateRevocationListBuilder,
    which made a Python object per entry (45 s for a million); the bytes are the same.
    """
    return crl_der.certificate_list(
        issuer=issuing_ca.certificate.subject,
        key=issuing_ca.key,
        digest=issuing_ca.signature_hash,
        this_update=_whole_seconds(this_update),
        next_update=_whole_seconds(next_update),
        revoked=revoked,
        extensions=[x509.CRLNumber(number), issuing_ca.issuer.key_identifier],
    )


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
    """Build and store the next CRL, inside a transaction (which holds the CRL's row)."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("publish_locked must run inside a transaction")
    state, _ = CrlState.objects.select_for_update().get_or_create(issuer_id=issuing_ca.id)
    this_update = _whole_seconds(clock.now())
    next_update = this_update + config.crl_lifetime()
    # Read before the entries: a revocation committed in between is listed, and stays pending
    # for the next publication (harmless); none is ever marked listed without being listed.
    listed = list(CrlPending.objects.filter(issuer_id=issuing_ca.id).values_list("id", flat=True))
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
    for start in range(0, len(listed), 10_000):
        CrlPending.objects.filter(id__in=listed[start : start + 10_000]).delete()
    return PublishedCrl(state.number, this_update, next_update, len(revoked), der)


def revocations_pending(*, certificates: list[Certificate]) -> None:
    """Note, in their revocation's transaction, that the next CRL must list these
    certificates: one insert, for one or a batch."""
    CrlPending.objects.bulk_create(
        [
            CrlPending(
                issuer_id=cert.issuer_id, certificate=cert, at=cert.revoked_at or clock.now()
            )
            for cert in certificates
        ]
    )


def _pending(issuer_id: int) -> bool:
    return CrlPending.objects.filter(issuer_id=issuer_id).exists()


def _due(state: CrlState | None, at: dt.datetime) -> bool:
    if state is None or state.der is None or state.this_update is None:
        return True
    return at >= state.this_update + config.crl_republish_after() or _pending(state.issuer_id)


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
