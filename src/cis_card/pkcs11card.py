"""Real cards through a PKCS#11 module (OpenSC for readers; SoftHSM2 stands in for them in tests).

Keys are generated on the token as EC P-256 pairs marked sensitive and non-extractable; signing
happens on the token (CKM_ECDSA over a SHA-256 digest made here, which every EC card supports).

The passcode retry counter: a real card keeps it in the chip, refuses a locked PIN with
CKR_PIN_LOCKED and reports CKF_USER_PIN_FINAL_TRY / CKF_USER_PIN_LOCKED in its token flags; this
module maps those to CardLocked and tries_left(). SoftHSM2 never locks a PIN (checked with 2.6.1:
any number of wrong PINs leave the flags untouched), so for SoftHSM the counter is emulated the
way a chip keeps it: a public token object holding the tries left, decremented and written
*before* C_Login and restored to 3 only after a successful one, so a pulled card cannot buy
extra guesses. Unlike a chip's counter, that object is not tamper-proof: it exists so that tests
and demos behave like cards, not to protect a software token.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute, CertificateType, KeyType, Mechanism, ObjectClass, TokenFlag
from pkcs11 import exceptions as p11e
from pkcs11.util.ec import (
    encode_ec_public_key,
    encode_ecdsa_signature,
    encode_named_curve_parameters,
)

from .base import (
    MAX_PASSCODE_TRIES,
    CardBlocked,
    CardError,
    CardLocked,
    CardNotFound,
    CardNotInitialised,
    CardRemoved,
    StoredCertificate,
    WrongPasscode,
    WrongSoPin,
)

APPLICATION = "cis"
COUNTER_LABEL = "cis-passcode-tries"
LOCK_REPORT_LABEL = "cis-lock-report"
MARKER_LABEL = "cis-card"

# Errors meaning the token went away under us: the card was pulled out of the reader.
_REMOVED = (
    p11e.TokenNotPresent,
    p11e.DeviceRemoved,
    p11e.SessionClosed,
    p11e.SessionHandleInvalid,
    p11e.DeviceError,
    p11e.TokenNotRecognised,
)


@contextlib.contextmanager
def _card_errors() -> Iterator[None]:
    try:
        yield
    except _REMOVED:
        raise CardRemoved(
            "The card was removed during the operation; insert it and try again."
        ) from None
    except p11e.TokenWriteProtected:
        raise CardError("The card is write-protected.") from None
    except p11e.DeviceMemory:
        raise CardError("The card is full; ask your RA to repair it.") from None


def _so_login(token: Any, so_pin: str) -> Any:
    try:
        return token.open(rw=True, so_pin=so_pin)
    except p11e.PinIncorrect:
        raise WrongSoPin("The card refused the administrator PIN.") from None
    except p11e.PinLocked:
        raise CardBlocked(
            "The card's administrator PIN is blocked; return it to your RA."
        ) from None


def _data_object(session: Any, label: str) -> Any | None:
    found = list(session.get_objects({Attribute.CLASS: ObjectClass.DATA, Attribute.LABEL: label}))
    return found[0] if found else None


class Pkcs11Card:
    """One token, found by label, in one PKCS#11 module."""

    def __init__(self, module: str, label: str, *, emulate_retry_counter: bool | None = None):
        self.module = module
        self.label = label
        try:
            self._lib = pkcs11.lib(module)
        except p11e.PKCS11Error as exc:
            raise CardNotFound(f"Cannot load the PKCS#11 module {module!r}: {exc}") from None
        self.token = self._find_token()
        if emulate_retry_counter is None:
            emulate_retry_counter = self._lib.manufacturer_id.startswith("SoftHSM")
        self.emulated_counter = emulate_retry_counter

    def _find_token(self) -> Any:
        with _card_errors():
            try:
                return self._lib.get_token(token_label=self.label)
            except p11e.NoSuchToken:
                pass
            except p11e.MultipleTokensReturned:
                raise CardError(f"More than one card is labelled '{self.label}'.") from None
            # The SPEC may name the card by its chip serial (as the portal does) instead.
            for slot in self._lib.get_slots(token_present=True):
                token = slot.get_token()
                if token.serial.decode("ascii", "replace").strip() == self.label:
                    return token
            raise CardNotFound(f"No card labelled '{self.label}' is in a reader.")

    @property
    def spec(self) -> str:
        return f"pkcs11:{self.module}:{self.label}"

    def _flags(self) -> TokenFlag:
        with _card_errors():
            return TokenFlag(self._find_token().flags)

    def serial(self) -> str:
        serial: bytes = self.token.serial
        return serial.decode("ascii", "replace").strip()

    # -- the emulated retry counter (SoftHSM) -------------------------------------------------

    def _read_counter(self, session: Any) -> int:
        values = [
            int(bytes(obj[Attribute.VALUE]).decode() or "0")
            for obj in session.get_objects(
                {Attribute.CLASS: ObjectClass.DATA, Attribute.LABEL: COUNTER_LABEL}
            )
        ]
        return min(values) if values else MAX_PASSCODE_TRIES

    def _write_counter(self, session: Any, value: int) -> None:
        """Write the new count, then remove the old ones; reads take the lowest value seen.

        SoftHSM will not change a data object's value in place, so a pulled card can at worst
        leave two counts behind, and the lower one (the one against the holder) counts.
        """
        old = list(
            session.get_objects({Attribute.CLASS: ObjectClass.DATA, Attribute.LABEL: COUNTER_LABEL})
        )
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.DATA,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: False,
                Attribute.LABEL: COUNTER_LABEL,
                Attribute.APPLICATION: APPLICATION,
                Attribute.VALUE: str(value).encode(),
            }
        )
        for obj in old:
            obj.destroy()

    # -- state --------------------------------------------------------------------------------

    def is_initialised(self) -> bool:
        with _card_errors(), self.token.open() as session:
            if _data_object(session, MARKER_LABEL) is not None:
                return True
        if self.emulated_counter:
            return False
        # A card that cannot store CIS's marker object: trust its own "PIN set" flag.
        return bool(self._flags() & TokenFlag.USER_PIN_INITIALIZED)

    def is_locked(self) -> bool:
        left = self.tries_left()
        return left is not None and left <= 0

    def tries_left(self) -> int | None:
        flags = self._flags()
        if flags & TokenFlag.USER_PIN_LOCKED:
            return 0
        if self.emulated_counter:
            with _card_errors(), self.token.open() as session:
                return self._read_counter(session)
        if flags & TokenFlag.USER_PIN_FINAL_TRY:
            return 1
        return None  # the card does not say how many are left until the last one

    def certificates(self) -> list[StoredCertificate]:
        out = []
        with _card_errors(), self.token.open() as session:
            for obj in session.get_objects(
                {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.TOKEN: True}
            ):
                key_id = bytes(obj[Attribute.ID]).hex()
                out.append(StoredCertificate(key_id=key_id, der=bytes(obj[Attribute.VALUE])))
        return sorted(out, key=lambda c: c.key_id)

    def close(self) -> None:
        return None

    def lock_report_mac(self, message: bytes) -> bytes | None:
        """A public secret key on the token: usable without the passcode, never extractable."""
        with _card_errors(), self.token.open() as session:
            try:
                key = session.get_key(object_class=ObjectClass.SECRET_KEY, label=LOCK_REPORT_LABEL)
            except (p11e.NoSuchKey, p11e.MultipleObjectsReturned):
                return None
            mac: bytes = key.sign(message, mechanism=Mechanism.SHA256_HMAC)
            return mac

    # -- the passcode -------------------------------------------------------------------------

    def _login(self, passcode: str) -> Any:
        """Open a read/write session logged in as the holder, counting the try as a chip does."""
        if not self.is_initialised():
            raise CardNotInitialised("This card has not been issued yet.")
        if self._flags() & TokenFlag.USER_PIN_LOCKED:
            raise CardLocked()
        left: int | None = None
        if self.emulated_counter:
            with _card_errors(), self.token.open(rw=True) as session:
                left = self._read_counter(session)
                if left <= 0:
                    raise CardLocked()
                left -= 1
                self._write_counter(session, left)
        with _card_errors():
            try:
                session = self.token.open(rw=True, user_pin=passcode)
            except p11e.PinLocked:
                raise CardLocked() from None
            except p11e.PinIncorrect:
                if left is None:
                    left = self.tries_left()
                if left is not None and left <= 0:
                    raise CardLocked(
                        "Wrong passcode. The card is now locked: unlock it with a one-time "
                        "code (cis-agent unlock --self) or ask your Local Smartcard "
                        "Administrator."
                    ) from None
                raise WrongPasscode(left) from None
            except (p11e.PinLenRange, p11e.PinInvalid):
                raise WrongPasscode(self.tries_left()) from None
            if self.emulated_counter:
                try:
                    self._write_counter(session, MAX_PASSCODE_TRIES)
                except BaseException:
                    session.close()
                    raise
            return session

    def verify_passcode(self, passcode: str) -> None:
        self._login(passcode).close()

    def change_passcode(self, current: str, new: str) -> None:
        session = self._login(current)
        with _card_errors(), session:
            session.set_pin(current, new)

    @contextlib.contextmanager
    def session(self, passcode: str) -> Iterator[Pkcs11Session]:
        session = self._login(passcode)
        with _card_errors(), session:
            yield Pkcs11Session(session)

    # -- the administrator PIN ----------------------------------------------------------------

    def initialise(self, *, so_pin: str, new_so_pin: str, passcode: str) -> None:
        with _card_errors():
            with _so_login(self.token, so_pin) as session:
                session.init_pin(passcode)
                if new_so_pin != so_pin:
                    session.set_pin(so_pin, new_so_pin)
            with self.token.open(rw=True, user_pin=passcode) as session:
                _destroy_all(session)
                if self.emulated_counter:
                    self._write_counter(session, MAX_PASSCODE_TRIES)
                with contextlib.suppress(p11e.PKCS11Error):
                    # Real cards may not store data objects; is_initialised then reads the flags.
                    session.create_object(
                        {
                            Attribute.CLASS: ObjectClass.DATA,
                            Attribute.TOKEN: True,
                            Attribute.PRIVATE: False,
                            Attribute.LABEL: MARKER_LABEL,
                            Attribute.APPLICATION: APPLICATION,
                            Attribute.VALUE: b"1",
                        }
                    )

    def unlock(self, *, so_pin: str, new_passcode: str) -> None:
        if not self.is_initialised():
            raise CardNotInitialised("This card has not been issued yet.")
        with _card_errors(), _so_login(self.token, so_pin) as session:
            session.init_pin(new_passcode)
            if self.emulated_counter:
                self._write_counter(session, MAX_PASSCODE_TRIES)

    def set_so_pin(self, *, current: str, new: str) -> None:
        with _card_errors(), _so_login(self.token, current) as session:
            session.set_pin(current, new)

    def wipe(self, *, so_pin: str, transport_so_pin: str) -> None:
        throwaway = secrets.token_hex(4)
        with _card_errors():
            with _so_login(self.token, so_pin) as session:
                session.init_pin(throwaway)
            with self.token.open(rw=True, user_pin=throwaway) as session:
                _destroy_all(session)
                for label in (MARKER_LABEL, COUNTER_LABEL):
                    for obj in list(
                        session.get_objects(
                            {Attribute.CLASS: ObjectClass.DATA, Attribute.LABEL: label}
                        )
                    ):
                        obj.destroy()
            with _so_login(self.token, so_pin) as session:
                session.set_pin(so_pin, transport_so_pin)


def _destroy_all(session: Any) -> None:
    for object_class in (
        ObjectClass.PRIVATE_KEY,
        ObjectClass.PUBLIC_KEY,
        ObjectClass.CERTIFICATE,
        ObjectClass.SECRET_KEY,
    ):
        for obj in list(session.get_objects({Attribute.CLASS: object_class})):
            obj.destroy()


class Pkcs11Session:
    """The holder's logged-in session: keys made and used on the token."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def _key(self, object_class: ObjectClass, key_id: str) -> Any:
        with _card_errors():
            try:
                return self._session.get_key(object_class=object_class, id=bytes.fromhex(key_id))
            except p11e.NoSuchKey:
                raise CardError(f"The card holds no key {key_id}.") from None

    def generate_key(self) -> tuple[str, bytes]:
        key_id = secrets.token_hex(8)
        with _card_errors():
            params = self._session.create_domain_parameters(
                KeyType.EC,
                {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                local=True,
            )
            public, _private = params.generate_keypair(
                store=True,
                id=bytes.fromhex(key_id),
                label=f"cis-{key_id}",
                public_template={Attribute.VERIFY: True},
                private_template={
                    Attribute.SIGN: True,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                },
            )
            return key_id, encode_ec_public_key(public)

    def public_key(self, key_id: str) -> bytes:
        with _card_errors():
            der: bytes = encode_ec_public_key(self._key(ObjectClass.PUBLIC_KEY, key_id))
            return der

    def sign(self, key_id: str, data: bytes) -> bytes:
        key = self._key(ObjectClass.PRIVATE_KEY, key_id)
        digest = hashlib.sha256(data).digest()
        with _card_errors():
            raw = key.sign(digest, mechanism=Mechanism.ECDSA)
        der: bytes = encode_ecdsa_signature(raw)
        return der

    def write_certificate(self, key_id: str, der: bytes) -> None:
        cert = x509.load_der_x509_certificate(der)
        cert_key = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if cert_key != self.public_key(key_id):
            raise CardError("That certificate is not for a key on this card.")
        with _card_errors():
            self._session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: False,
                    Attribute.ID: bytes.fromhex(key_id),
                    Attribute.LABEL: f"cis-{key_id}",
                    Attribute.SUBJECT: cert.subject.public_bytes(),
                    Attribute.ISSUER: cert.issuer.public_bytes(),
                    Attribute.SERIAL_NUMBER: _der_integer(cert.serial_number),
                    Attribute.VALUE: der,
                }
            )

    def delete_key(self, key_id: str) -> None:
        with _card_errors():
            for obj in list(self._session.get_objects({Attribute.ID: bytes.fromhex(key_id)})):
                obj.destroy()

    def store_lock_report_key(self, key: bytes) -> None:
        with _card_errors():
            old = list(
                self._session.get_objects(
                    {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: LOCK_REPORT_LABEL}
                )
            )
            self._session.create_object(
                {
                    Attribute.CLASS: ObjectClass.SECRET_KEY,
                    Attribute.KEY_TYPE: KeyType.GENERIC_SECRET,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: False,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.SIGN: True,
                    Attribute.LABEL: LOCK_REPORT_LABEL,
                    Attribute.VALUE: key,
                }
            )
            for obj in old:
                obj.destroy()

    def key_ids(self) -> list[str]:
        with _card_errors():
            return sorted(
                bytes(obj[Attribute.ID]).hex()
                for obj in self._session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})
            )


def _der_integer(value: int) -> bytes:
    from asn1crypto.core import Integer  # noqa: PLC0415 - only needed for this attribute

    der: bytes = Integer(value).dump()
    return der
