"""Precomputed OCSP responses, keyed by serial and checked against the status they were made for.

A cached response is served only when the certificate's status in the database, the responder
certificate and the issuing CA are all still the ones it was signed for, so a revocation shows
in OCSP at once on every process even with a per-process cache. `forget` also drops the entry
when a certificate changes, so memory is not spent on answers that can never be served again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import caches

from cis.core import clock

HASH_NAMES = ("sha1", "sha224", "sha256", "sha384", "sha512")


@dataclass(frozen=True)
class CachedResponse:
    fingerprint: str  # issuer, signer and status the response was made for
    der: bytes
    this_update: dt.datetime
    next_update: dt.datetime
    refresh_at: dt.datetime


def _key(hash_name: str, serial_hex: str) -> str:
    return f"ocsp:{hash_name}:{serial_hex}"


def get(hash_name: str, serial_hex: str, fingerprint: str) -> CachedResponse | None:
    found = caches["pki"].get(_key(hash_name, serial_hex))
    if not isinstance(found, CachedResponse) or found.fingerprint != fingerprint:
        return None
    if clock.now() >= found.refresh_at:
        return None
    return found


def put(hash_name: str, serial_hex: str, response: CachedResponse) -> None:
    timeout = max(1, int((response.refresh_at - clock.now()).total_seconds()))
    caches["pki"].set(_key(hash_name, serial_hex), response, timeout=timeout)


def forget(serial_hex: str) -> None:
    caches["pki"].delete_many([_key(name, serial_hex) for name in HASH_NAMES])


def clear() -> None:
    caches["pki"].clear()
