"""Certificate serial numbers: 159 bits from the OS CSPRNG, positive, at most 20 octets in DER."""

from __future__ import annotations

import secrets

SERIAL_BITS = 159  # the top bit of 20 octets stays clear, so DER needs no sign octet


def new_serial() -> int:
    """A fresh serial; far more than the 64 random bits CA/B BR §7.1 asks for."""
    while True:
        serial = secrets.randbits(SERIAL_BITS)
        # Reject the (vanishingly rare) short values so every serial carries >= 64 random bits
        # of entropy in its encoding as well as in its generation.
        if serial >= 1 << 64:
            return serial
