"""What the agent has a card sign (or MAC) for CIS; the server rebuilds the same bytes to check.

Each message starts with its own context string, so a signature made for one purpose can never
be replayed as another.
"""

from __future__ import annotations

import hashlib
import hmac

LOGIN_CONTEXT = b"CIS agent sign-in v1\x00"
RENEWAL_CONTEXT = b"CIS certificate renewal v1\x00"
LOCK_REPORT_CONTEXT = b"CIS lock report v1\x00"
SIGNIN_CONTEXT = b"CIS-SIGNIN-v1\x00"


def login_message(*, challenge: str, chip_serial: str) -> bytes:
    """Signed by the card's current key to sign the agent in."""
    return LOGIN_CONTEXT + challenge.encode() + b"\x00" + chip_serial.encode()


def signin_message(*, challenge_id: str, nonce: str, chip_serial: str) -> bytes:
    """Signed by the card's current key to open a browser sign-in session (`cis-agent sign-in`)."""
    return (
        SIGNIN_CONTEXT
        + challenge_id.encode()
        + b"\x00"
        + nonce.encode()
        + b"\x00"
        + chip_serial.encode()
    )


def renewal_message(*, challenge: str, chip_serial: str, csr_der: bytes) -> bytes:
    """Signed by the OLD key: proof that the holder of the old certificate asks for the new one."""
    return (
        RENEWAL_CONTEXT
        + challenge.encode()
        + b"\x00"
        + chip_serial.encode()
        + b"\x00"
        + hashlib.sha256(csr_der).digest()
    )


def lock_report_message(*, challenge: str, chip_serial: str) -> bytes:
    """MACed by the card's lock-report key: this card, locked, answering this fresh challenge."""
    return LOCK_REPORT_CONTEXT + challenge.encode() + b"\x00" + chip_serial.encode()


def lock_report_mac(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256, as a card computes it with CKM_SHA256_HMAC."""
    return hmac.new(key, message, hashlib.sha256).digest()
