"""The CA's scheduled work for `cis jobs run`: publish the CRL when due, renew the responder,
sign OCSP answers ahead of time."""

from __future__ import annotations

from cis.core.errors import InvalidState

from . import authority, crl, ocsp_presign


def publish_crl() -> str:
    """Idempotent and safe on several machines: publishes only when the last CRL is a day old."""
    if authority.active_row("issuing") is None:
        return "skipped: the CA is not set up yet (cis ca init)"
    try:
        published = crl.crl_publish_if_due()
    except InvalidState as exc:
        return f"skipped: {exc.message}"
    return (
        f"CRL #{published.number} ({published.entries} entries), next update "
        f"{published.next_update:%Y-%m-%d %H:%M}Z"
    )


def presign_ocsp() -> str:
    """Sign OCSP answers ahead of time for every worker (cis.pki.ocsp_presign)."""
    if authority.active_row("issuing") is None:
        return "skipped: the CA is not set up yet (cis ca init)"
    return f"{ocsp_presign.presign()} OCSP answer(s) signed ahead of time"
