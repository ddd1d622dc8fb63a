"""Signing OCSP answers ahead of time (`cis jobs run`, job `presign-ocsp`), so that a request
finds its answer already signed and stored for every worker (cis.pki.ocsp_cache).

Every unexpired certificate of the issuing CA gets a SHA-1 CertID answer (what RFC 5019
clients ask with) when it has none, when its stored one was signed for another state (a new
responder certificate, a revocation not yet answered), or when it is due for refresh within
`ahead`: a quarter of its serving time by default, so answers are renewed well before a client
would find them stale. Safe on several machines at once: the last writer's answer stands,
and each is as good as the other.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography.hazmat.primitives import hashes
from django.db import transaction

from cis.core import clock, sql

from . import authority, config, ocsp, ocsp_cache
from .models import AuthorityRole, Certificate, OcspResponse
from .states import CertificateStatus

BATCH = 2000


def presign(*, ahead: dt.timedelta | None = None) -> int:
    """Sign and store the answers that are missing or due; how many it signed."""
    issuing_ca = authority.current(AuthorityRole.ISSUING)
    if issuing_ca is None:
        return 0
    signer = authority.ocsp_signer(issuing_ca)
    sha1 = hashes.SHA1()  # noqa: S303 - the CertID hash OCSP clients send
    now = clock.now()
    due = now + (ahead if ahead is not None else config.ocsp_cache_lifetime() / 4)
    certificates = (
        Certificate.objects.filter(issuer_id=issuing_ca.id, not_after__gte=now)
        .order_by("id")
        .values_list("id", "serial_hex", "status", "revocation_reason", "revoked_at")
    )
    signed = 0
    last = 0
    while True:
        chunk = list(certificates.filter(id__gt=last)[:BATCH])
        if not chunk:
            return signed
        last = chunk[-1][0]
        stored = dict(
            OcspResponse.objects.filter(
                issuer_id=issuing_ca.id,
                hash_name=sha1.name,
                serial_hex__in=[row[1] for row in chunk],
            ).values_list("serial_hex", "fingerprint")
        )
        fresh = set(
            OcspResponse.objects.filter(
                issuer_id=issuing_ca.id,
                hash_name=sha1.name,
                serial_hex__in=list(stored),
                refresh_at__gt=due,
            ).values_list("serial_hex", flat=True)
        )
        due_now = [
            row
            for row in chunk
            if not (stored.get(row[1]) == _fingerprint(issuing_ca, signer, row) and row[1] in fresh)
        ]
        rows = _signed(issuing_ca, signer, due_now)
        if rows:
            with transaction.atomic(), sql.connection().cursor() as cursor:
                cursor.executemany(ocsp_cache.upsert_sql(), rows)
            signed += len(rows)


Chunk = list[tuple[int, str, str, str, dt.datetime | None]]  # id, serial, status, reason, at


def _fingerprint(
    issuing_ca: authority.LoadedAuthority,
    signer: authority.LoadedAuthority,
    row: tuple[int, str, str, str, dt.datetime | None],
) -> str:
    good = row[2] == CertificateStatus.VALID
    return ocsp.fingerprint_of(
        issuing_ca, signer, "good" if good else "revoked", "" if good else row[3]
    )


def _signed(
    issuing_ca: authority.LoadedAuthority, signer: authority.LoadedAuthority, chunk: Chunk
) -> list[list[Any]]:
    """Upsert rows (ocsp_cache.upsert_sql) with a SHA-1 CertID answer for each certificate."""
    sha1 = hashes.SHA1()  # noqa: S303 - the CertID hash OCSP clients send
    rows: list[list[Any]] = []
    for _id, serial_hex, status, revocation_reason, revoked_at in chunk:
        cert_status = "good" if status == CertificateStatus.VALID else "revoked"
        reason = "" if cert_status == "good" else revocation_reason
        der, this_update, next_update = ocsp.sign_response(
            issuing_ca,
            signer,
            serial_number=int(serial_hex, 16),
            algorithm=sha1,
            cert_status=cert_status,
            reason=reason,
            revoked_at=revoked_at,
        )
        rows.append(
            [
                issuing_ca.id,
                serial_hex,
                sha1.name,
                ocsp.fingerprint_of(issuing_ca, signer, cert_status, reason),
                der,
                sql.when(this_update),
                sql.when(next_update),
                sql.when(this_update + config.ocsp_cache_lifetime()),
            ]
        )
    return rows


def presign_now(certificate_ids: list[int]) -> int:
    """Sign and store these certificates' answers now, in the caller's transaction (their
    revocation's): their "good" answers are replaced by "revoked" ones, so the OCSP requests
    that follow are served stored answers rather than each signing and writing one. Their other
    stored answers (other CertID hashes, a former issuing CA's) go: signed again when asked."""
    if not certificate_ids:
        return 0
    issuing_ca = authority.current(AuthorityRole.ISSUING)
    rows = Certificate.objects.filter(id__in=certificate_ids).order_by("id")
    OcspResponse.objects.filter(
        serial_hex__in=list(rows.values_list("serial_hex", flat=True))
    ).delete()
    if issuing_ca is None:
        return 0
    signer = authority.ocsp_signer(issuing_ca)
    chunk: Chunk = list(
        rows.filter(issuer_id=issuing_ca.id).values_list(
            "id", "serial_hex", "status", "revocation_reason", "revoked_at"
        )
    )
    signed = _signed(issuing_ca, signer, chunk)
    with sql.connection().cursor() as cursor:
        cursor.executemany(ocsp_cache.upsert_sql(), signed)
    return len(signed)
