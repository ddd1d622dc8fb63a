"""The CA's settings, read and checked in one place so a bad value fails with a clear reason."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from .constants import (
    MAX_CRL_LIFETIME,
    MAX_OCSP_VALIDITY,
    MAX_VALIDITY_DAYS,
    MIN_OCSP_VALIDITY,
)
from .keystore import KeyAlgorithm


def default_validity_days() -> int:
    return int(settings.CIS_CERT_VALIDITY_DAYS)


def crl_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=settings.CIS_CRL_LIFETIME_HOURS)


def crl_republish_after() -> dt.timedelta:
    return dt.timedelta(hours=settings.CIS_CRL_REPUBLISH_HOURS)


def ocsp_validity() -> dt.timedelta:
    return dt.timedelta(hours=settings.CIS_OCSP_VALIDITY_HOURS)


def ocsp_cache_lifetime() -> dt.timedelta:
    """How long a precomputed response is served: refreshed at half its validity.

    BR 4.9.10 asks for a refresh before half the validity when it is under 16 hours, and
    otherwise at least 8 hours before nextUpdate and within 4 days; half the validity, capped
    at 4 days, meets both.
    """
    return min(ocsp_validity() / 2, dt.timedelta(days=4))


def ocsp_signer_validity() -> dt.timedelta:
    return dt.timedelta(days=settings.CIS_OCSP_SIGNER_VALIDITY_DAYS)


def ocsp_signer_renew_before() -> dt.timedelta:
    """Replace the responder certificate while it still outlives every response it signed."""
    return max(ocsp_signer_validity() / 3, 2 * ocsp_validity())


def problems() -> list[str]:
    found = []
    try:
        KeyAlgorithm.parse(settings.CIS_CA_KEY_ALGORITHM)
    except Exception as exc:  # noqa: BLE001 - reported as a configuration problem
        found.append(str(exc))
    if settings.CIS_CA_KEY_STORE not in ("file", "pkcs11"):
        found.append("CIS_CA_KEY_STORE must be 'file' or 'pkcs11'.")
    if not 1 <= default_validity_days() <= MAX_VALIDITY_DAYS:
        found.append(f"CIS_CERT_VALIDITY_DAYS must be between 1 and {MAX_VALIDITY_DAYS}.")
    if not dt.timedelta(hours=1) <= crl_lifetime() <= MAX_CRL_LIFETIME:
        found.append("CIS_CRL_LIFETIME_HOURS must be between 1 and 168 (7 days).")
    if (
        not dt.timedelta(hours=1)
        <= crl_republish_after()
        <= min(crl_lifetime() / 2, dt.timedelta(hours=24))
    ):
        found.append(
            "CIS_CRL_REPUBLISH_HOURS must be between 1 and 24, and at most half the CRL lifetime."
        )
    if not MIN_OCSP_VALIDITY <= ocsp_validity() <= MAX_OCSP_VALIDITY:
        found.append("CIS_OCSP_VALIDITY_HOURS must be between 8 and 240 (10 days).")
    if ocsp_signer_validity() < 3 * ocsp_validity():
        found.append("CIS_OCSP_SIGNER_VALIDITY_DAYS must be at least three OCSP validity periods.")
    return found


@register()
def check_pki_settings(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    return [Error(message, id="cis.pki.E001") for message in problems()]
