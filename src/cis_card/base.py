"""The card interface every implementation keeps, and the errors a card can raise."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509

MAX_PASSCODE_TRIES = 3


class CardError(Exception):
    """Base of every card failure; the message is safe and useful to show the holder."""


class CardNotFound(CardError):
    pass


class CardRemoved(CardError):
    """The card left the reader (or its file vanished) in the middle of an operation."""


class CardNotInitialised(CardError):
    pass


class WrongPasscode(CardError):
    def __init__(self, tries_left: int | None) -> None:
        if tries_left is None:
            message = "Wrong passcode."
        elif tries_left == 1:
            message = "Wrong passcode: 1 try left before the card locks."
        else:
            message = f"Wrong passcode: {tries_left} tries left before the card locks."
        super().__init__(message)
        self.tries_left = tries_left


class CardLocked(CardError):
    def __init__(self, message: str = "") -> None:
        super().__init__(
            message
            or "The card is locked after 3 wrong passcodes. Unlock it with a one-time code "
            "(cis-agent unlock --self) or ask your Local Smartcard Administrator."
        )


class WrongSoPin(CardError):
    """The administrator PIN was refused; CIS may hold a newer or older one than the card."""


class CardBlocked(CardError):
    """The administrator PIN is blocked too: the card can never be unlocked again."""


class PasscodeRejected(CardError):
    """A new passcode breaks the passcode rules."""


@dataclass(frozen=True)
class PasscodePolicy:
    min_length: int = 4
    max_length: int = 8

    def check(self, passcode: str) -> str:
        if not passcode or any(ch.isspace() for ch in passcode):
            raise PasscodeRejected("A passcode cannot be empty or contain spaces.")
        if not self.min_length <= len(passcode) <= self.max_length:
            raise PasscodeRejected(
                f"A passcode must be {self.min_length} to {self.max_length} characters long."
            )
        return passcode


@dataclass(frozen=True)
class StoredCertificate:
    """A certificate on the card, next to the id of the key pair it certifies."""

    key_id: str
    der: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)

    @property
    def serial_hex(self) -> str:
        """Lower-case hex of the serial's DER bytes (an even number of digits), as CIS shows it."""
        serial = self.certificate.serial_number
        return serial.to_bytes(max(1, (serial.bit_length() + 7) // 8), "big").hex()

    @property
    def not_after(self) -> dt.datetime:
        return self.certificate.not_valid_after_utc

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()


class CardSession(Protocol):
    """What a card allows once the holder's passcode has been verified."""

    def generate_key(self) -> tuple[str, bytes]:
        """Make an EC P-256 key pair inside the card; return (key id, public key as DER SPKI)."""
        ...

    def public_key(self, key_id: str) -> bytes: ...

    def sign(self, key_id: str, data: bytes) -> bytes:
        """ECDSA with SHA-256 over data, by the key inside the card; DER signature."""
        ...

    def write_certificate(self, key_id: str, der: bytes) -> None: ...

    def delete_key(self, key_id: str) -> None:
        """Remove a key pair and any certificate for it."""
        ...

    def key_ids(self) -> list[str]: ...

    def store_lock_report_key(self, key: bytes) -> None:
        """Keep CIS's lock-report key on the card, usable without the passcode, never read back."""
        ...


class Card(Protocol):
    """A smartcard in a reader: chip serial, passcode and lock, administrator PIN, keys, certs."""

    @property
    def spec(self) -> str: ...

    def serial(self) -> str: ...

    def is_initialised(self) -> bool: ...

    def is_locked(self) -> bool: ...

    def tries_left(self) -> int | None:
        """Passcode tries left before the card locks, where the card says (None if it won't)."""
        ...

    def verify_passcode(self, passcode: str) -> None: ...

    def change_passcode(self, current: str, new: str) -> None: ...

    def session(self, passcode: str) -> AbstractContextManager[CardSession]:
        """Verify the passcode once, then use the card's keys until the block ends."""
        ...

    def certificates(self) -> list[StoredCertificate]:
        """Certificates on the card; readable without the passcode, as on a real card."""
        ...

    def lock_report_mac(self, message: bytes) -> bytes | None:
        """HMAC-SHA256 of message by the card's lock-report key, without the passcode (a locked
        card must still report itself); None if the card holds no such key."""
        ...

    def initialise(self, *, so_pin: str, new_so_pin: str, passcode: str) -> None:
        """Wipe keys and certificates, set the administrator PIN and the holder's passcode."""
        ...

    def unlock(self, *, so_pin: str, new_passcode: str) -> None:
        """Reset the passcode (and the lock) with the administrator PIN."""
        ...

    def set_so_pin(self, *, current: str, new: str) -> None: ...

    def wipe(self, *, so_pin: str, transport_so_pin: str) -> None:
        """Clear the card for reuse: no keys, no certificates, the transport PIN back."""
        ...

    def close(self) -> None: ...


def newest(certs: list[StoredCertificate]) -> StoredCertificate | None:
    """The certificate the card presents: the most recently issued one it holds.

    Deliberately no clock here: a workstation's clock may be wrong, and CIS judges expiry.
    """
    if not certs:
        return None
    return max(certs, key=lambda c: (c.certificate.not_valid_before_utc, c.not_after))


def newest_valid(certs: list[StoredCertificate], at: dt.datetime) -> StoredCertificate | None:
    """The newest certificate already in force at `at` (by the workstation's clock)."""
    return newest([c for c in certs if c.certificate.not_valid_before_utc <= at])
