"""The CA's scheduled work for `cis jobs run`: publish the CRL when due, renew the responder."""

from __future__ import annotations

from cis.core.errors import InvalidState

from . import authority, crl


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
