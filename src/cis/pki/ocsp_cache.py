"""Pre-signed OCSP responses, kept in the database so that every worker on every machine serves
the ones any of them (or the `presign-ocsp` job) signed, the way large CAs serve OCSP.

A stored response is served only when the certificate's status in the database, the responder
certificate and the issuing CA are all still the ones it was signed for (its fingerprint), and
before its refresh time: so a revocation shows in OCSP the moment it commits, on every process,
without anyone having to remove the old answer. The lookup reads the certificate's status and
its stored response in one indexed statement; a response signed on demand is stored with one
upsert, outside any transaction of the caller's.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass

from django.db import DatabaseError, transaction

from cis.core import clock, sql

from .models import Certificate, OcspResponse

logger = logging.getLogger(__name__)

HASH_NAMES = ("sha1", "sha224", "sha256", "sha384", "sha512")
_FIELDS = ("fingerprint", "der", "this_update", "next_update", "refresh_at")


@dataclass(frozen=True)
class CachedResponse:
    fingerprint: str  # issuer, signer and status the response was made for
    der: bytes
    this_update: dt.datetime
    next_update: dt.datetime
    refresh_at: dt.datetime


@dataclass(frozen=True)
class Found:
    """A certificate's status as the database has it now, and its stored response if any."""

    status: str  # a CertificateStatus value, or "" when the CA never issued this serial
    reason: str
    stored: CachedResponse | None


@functools.cache
def _lookup_sql() -> str:
    c, r = sql.table(Certificate), sql.table(OcspResponse)
    col = functools.partial(sql.column, OcspResponse)
    stored = ", ".join(f"r.{col(name)}" for name in _FIELDS)
    return (
        f"SELECT c.{sql.column(Certificate, 'status')}, "  # noqa: S608 - names from the models
        f"c.{sql.column(Certificate, 'revocation_reason')}, {stored} "
        f"FROM {c} c LEFT JOIN {r} r ON r.{col('issuer')} = c.{sql.column(Certificate, 'issuer')}"
        f" AND r.{col('serial_hex')} = c.{sql.column(Certificate, 'serial_hex')}"
        f" AND r.{col('hash_name')} = %s"
        f" WHERE c.{sql.column(Certificate, 'issuer')} = %s"
        f" AND c.{sql.column(Certificate, 'serial_hex')} = %s"
    )


def lookup(issuer_id: int, serial_hex: str, hash_name: str) -> Found:
    row = sql.one(_lookup_sql(), [hash_name, issuer_id, serial_hex])
    if row is None:
        return Found("", "", None)
    status, reason, fingerprint, der, this_update, next_update, refresh_at = row
    stored = None
    if der is not None:
        stored = CachedResponse(
            fingerprint=str(fingerprint),
            der=bytes(der),
            this_update=sql.read_when(this_update),  # type: ignore[arg-type]
            next_update=sql.read_when(next_update),  # type: ignore[arg-type]
            refresh_at=sql.read_when(refresh_at),  # type: ignore[arg-type]
        )
    return Found(str(status), str(reason or ""), stored)


def usable(stored: CachedResponse | None, fingerprint: str) -> CachedResponse | None:
    """The stored response, if it was signed for this state and is not yet due for refresh."""
    if stored is None or stored.fingerprint != fingerprint or clock.now() >= stored.refresh_at:
        return None
    return stored


@functools.cache
def upsert_sql() -> str:
    keys = ("issuer", "serial_hex", "hash_name")
    insert = sql.insert_sql(OcspResponse, (*keys, *_FIELDS))
    conflict = ", ".join(sql.column(OcspResponse, k) for k in keys)
    update = ", ".join(
        f"{sql.column(OcspResponse, f)} = excluded.{sql.column(OcspResponse, f)}" for f in _FIELDS
    )
    return f"{insert} ON CONFLICT ({conflict}) DO UPDATE SET {update}"


def put(issuer_id: int, hash_name: str, serial_hex: str, response: CachedResponse) -> None:
    """Store (or replace) a signed response. A failure only costs a signature next time."""
    params = [
        issuer_id,
        serial_hex,
        hash_name,
        response.fingerprint,
        response.der,
        sql.when(response.this_update),
        sql.when(response.next_update),
        sql.when(response.refresh_at),
    ]
    try:
        with transaction.atomic():
            sql.execute(upsert_sql(), params)
    except DatabaseError:
        logger.warning("ocsp response for %s not stored", serial_hex, exc_info=True)
