"""A file-backed card for the demo and for anyone without a reader, keeping a chip's rules.

Choices, since a file cannot resist attack the way a chip does:

- The passcode and the administrator (SO) PIN are stored only as scrypt-derived check values.
- Private keys are stored encrypted (AES-GCM) under a random card master key, and the master key
  is stored twice: wrapped under a key derived from the passcode and under one derived from the SO
  PIN. Keys can therefore be used only after the passcode (or, for unlock and re-keying, the SO
  PIN) is verified, and an unlock can reset the passcode without ever knowing the old one.
- Like a chip, the retry counter is decremented and written *before* a passcode is checked, so
  pulling the card mid-check cannot buy extra guesses. Three wrong passcodes lock the card;
  ten wrong SO PINs block it for good.
- Every change is one atomic file replacement (write a temporary file, fsync, rename), so a card
  pulled out mid-write is left as it was before or after the change, never half-written.

What a file cannot do: stop someone who copies it from guessing passcodes offline (scrypt only
slows that down). Use a real card, through PKCS#11, wherever that matters.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

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

FORMAT = "cis-virtual-card/1"
MAX_SO_TRIES = 10
DEFAULT_KDF = {"n": 2**14, "r": 8, "p": 1}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace path with data in one step; a failure part-way leaves the old file untouched."""
    directory = path.parent
    if not directory.is_dir():
        raise CardRemoved("The card was removed during the operation; insert it and try again.")
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _derive(secret: str, salt: bytes, kdf: dict[str, int]) -> tuple[bytes, bytes]:
    """(check value to store, wrapping key never stored) from one scrypt run."""
    out = Scrypt(salt=salt, length=64, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(secret.encode())
    return hashlib.sha256(out[:32]).digest(), out[32:]


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> str:
    nonce = secrets.token_bytes(12)
    return _b64(nonce + AESGCM(key).encrypt(nonce, plaintext, aad))


def _open_sealed(key: bytes, sealed: str, aad: bytes) -> bytes:
    raw = _unb64(sealed)
    return AESGCM(key).decrypt(raw[:12], raw[12:], aad)


class VirtualCard:
    """A card held in one JSON file (see the module docstring for what is stored and how)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        # The path as typed, quoted: a name with a newline in it still makes one line.
        if not self.path.exists():
            raise CardNotFound(f"No virtual card at {str(self.path)!r}.")
        if not self.path.is_file():
            raise CardNotFound(f"{str(self.path)!r} is not a file, so not a virtual card.")

    # -- making cards ---------------------------------------------------------------------

    @classmethod
    def create_blank(
        cls, path: Path | str, *, transport_so_pin: str, kdf: dict[str, int] | None = None
    ) -> VirtualCard:
        """A new, uninitialised card as it leaves the factory, with its transport SO PIN."""
        target = Path(path)
        if target.exists():
            raise CardError(f"{target} already exists; a new card needs a new file.")
        target.parent.mkdir(parents=True, exist_ok=True)
        kdf = dict(kdf or DEFAULT_KDF)
        state: dict[str, Any] = {
            "format": FORMAT,
            "serial": "VC" + secrets.token_hex(7).upper(),
            "kdf": kdf,
            "initialised": False,
            "tries_left": MAX_PASSCODE_TRIES,
            "so_tries_left": MAX_SO_TRIES,
            "passcode": None,
            "so_pin": cls._secret_record(transport_so_pin, kdf)[0],
            "master": None,
            "keys": {},
            "certificates": {},
        }
        atomic_write(target, json.dumps(state, indent=1).encode())
        return cls(target)

    @staticmethod
    def _secret_record(secret: str, kdf: dict[str, int]) -> tuple[dict[str, str], bytes]:
        salt = secrets.token_bytes(16)
        check, wrap = _derive(secret, salt, kdf)
        return {"salt": _b64(salt), "check": _b64(check)}, wrap

    # -- state ----------------------------------------------------------------------------

    @property
    def spec(self) -> str:
        return f"virtual:{self.path}"

    def _load(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raise CardRemoved(
                "The card was removed during the operation; insert it and try again."
            ) from None
        except OSError as exc:
            raise CardError(f"{str(self.path)!r} cannot be read: {exc.strerror}.") from None
        try:
            state: dict[str, Any] = json.loads(raw)
        except ValueError:
            raise CardError(f"{self.path} is not a readable virtual card.") from None
        if state.get("format") != FORMAT:
            raise CardError(f"{self.path} is not a CIS virtual card.")
        return state

    def _save(self, state: dict[str, Any]) -> None:
        atomic_write(self.path, json.dumps(state, indent=1).encode())

    def _aad(self, state: dict[str, Any], purpose: str) -> bytes:
        return f"{FORMAT}:{state['serial']}:{purpose}".encode()

    def serial(self) -> str:
        return str(self._load()["serial"])

    def is_initialised(self) -> bool:
        return bool(self._load()["initialised"])

    def is_locked(self) -> bool:
        state = self._load()
        return bool(state["initialised"]) and state["tries_left"] <= 0

    def tries_left(self) -> int | None:
        return int(self._load()["tries_left"])

    def certificates(self) -> list[StoredCertificate]:
        state = self._load()
        return [
            StoredCertificate(key_id=key_id, der=_unb64(der))
            for key_id, der in sorted(state["certificates"].items())
        ]

    def close(self) -> None:
        return None

    def lock_report_mac(self, message: bytes) -> bytes | None:
        key = self._load().get("lock_report_key")
        if not key:
            return None
        return hmac.new(_unb64(key), message, hashlib.sha256).digest()

    # -- secrets --------------------------------------------------------------------------

    def _check_passcode(self, passcode: str) -> tuple[dict[str, Any], bytes]:
        """Verify the passcode, counting the try first; return the state and the master key."""
        state = self._load()
        if not state["initialised"]:
            raise CardNotInitialised("This card has not been issued yet.")
        if state["tries_left"] <= 0:
            raise CardLocked()
        state["tries_left"] -= 1
        self._save(state)
        record = state["passcode"]
        check, wrap = _derive(passcode, _unb64(record["salt"]), state["kdf"])
        if not hmac.compare_digest(check, _unb64(record["check"])):
            if state["tries_left"] <= 0:
                raise CardLocked(
                    "Wrong passcode. The card is now locked: unlock it with a one-time code "
                    "(cis-agent unlock --self) or ask your Local Smartcard Administrator."
                )
            raise WrongPasscode(state["tries_left"])
        master = _open_sealed(wrap, state["master"]["by_passcode"], self._aad(state, "passcode"))
        state["tries_left"] = MAX_PASSCODE_TRIES
        self._save(state)
        return state, master

    def _check_so_pin(self, so_pin: str) -> tuple[dict[str, Any], bytes]:
        """Verify the SO PIN, counting the try first; return the state and the SO wrapping key."""
        state = self._load()
        if state["so_tries_left"] <= 0:
            raise CardBlocked("This card is blocked for good; return it to your RA.")
        state["so_tries_left"] -= 1
        self._save(state)
        record = state["so_pin"]
        check, wrap = _derive(so_pin, _unb64(record["salt"]), state["kdf"])
        if not hmac.compare_digest(check, _unb64(record["check"])):
            if state["so_tries_left"] <= 0:
                raise CardBlocked(
                    "The administrator PIN is now blocked; return the card to your RA."
                )
            raise WrongSoPin("The card refused the administrator PIN.")
        state["so_tries_left"] = MAX_SO_TRIES
        self._save(state)
        return state, wrap

    def _master_by_so(self, state: dict[str, Any], so_wrap: bytes) -> bytes | None:
        if not state["master"]:
            return None
        try:
            return _open_sealed(so_wrap, state["master"]["by_so_pin"], self._aad(state, "so"))
        except InvalidTag:
            raise CardError(
                "The card's key store is damaged; return the card to your RA."
            ) from None

    def verify_passcode(self, passcode: str) -> None:
        self._check_passcode(passcode)

    def change_passcode(self, current: str, new: str) -> None:
        state, master = self._check_passcode(current)
        record, wrap = self._secret_record(new, state["kdf"])
        state["passcode"] = record
        state["master"]["by_passcode"] = _seal(wrap, master, self._aad(state, "passcode"))
        self._save(state)

    def initialise(self, *, so_pin: str, new_so_pin: str, passcode: str) -> None:
        state, _ = self._check_so_pin(so_pin)
        master = secrets.token_bytes(32)
        so_record, so_wrap = self._secret_record(new_so_pin, state["kdf"])
        pass_record, pass_wrap = self._secret_record(passcode, state["kdf"])
        state.update(
            initialised=True,
            tries_left=MAX_PASSCODE_TRIES,
            so_pin=so_record,
            passcode=pass_record,
            master={
                "by_passcode": _seal(pass_wrap, master, self._aad(state, "passcode")),
                "by_so_pin": _seal(so_wrap, master, self._aad(state, "so")),
            },
            keys={},
            certificates={},
            lock_report_key=None,
        )
        self._save(state)

    def unlock(self, *, so_pin: str, new_passcode: str) -> None:
        state, so_wrap = self._check_so_pin(so_pin)
        master = self._master_by_so(state, so_wrap)
        if master is None:
            raise CardNotInitialised("This card has not been issued yet.")
        record, wrap = self._secret_record(new_passcode, state["kdf"])
        state["passcode"] = record
        state["master"]["by_passcode"] = _seal(wrap, master, self._aad(state, "passcode"))
        state["tries_left"] = MAX_PASSCODE_TRIES
        self._save(state)

    def set_so_pin(self, *, current: str, new: str) -> None:
        state, so_wrap = self._check_so_pin(current)
        master = self._master_by_so(state, so_wrap)
        record, wrap = self._secret_record(new, state["kdf"])
        state["so_pin"] = record
        if master is not None:
            state["master"]["by_so_pin"] = _seal(wrap, master, self._aad(state, "so"))
        self._save(state)

    def wipe(self, *, so_pin: str, transport_so_pin: str) -> None:
        state, _ = self._check_so_pin(so_pin)
        state.update(
            initialised=False,
            tries_left=MAX_PASSCODE_TRIES,
            passcode=None,
            so_pin=self._secret_record(transport_so_pin, state["kdf"])[0],
            master=None,
            keys={},
            certificates={},
            lock_report_key=None,
        )
        self._save(state)

    @contextlib.contextmanager
    def session(self, passcode: str) -> Iterator[VirtualSession]:
        _, master = self._check_passcode(passcode)
        yield VirtualSession(self, master)


class VirtualSession:
    """The card's keys, usable while the master key unwrapped by the passcode is in memory."""

    def __init__(self, card: VirtualCard, master: bytes) -> None:
        self._card = card
        self._master = master

    def _private(self, state: dict[str, Any], key_id: str) -> ec.EllipticCurvePrivateKey:
        entry = state["keys"].get(key_id)
        if entry is None:
            raise CardError(f"The card holds no key {key_id}.")
        der = _open_sealed(self._master, entry["private"], self._card._aad(state, f"key:{key_id}"))
        key = serialization.load_der_private_key(der, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CardError("The card's key store is damaged; return the card to your RA.")
        return key

    def generate_key(self) -> tuple[str, bytes]:
        state = self._card._load()
        key_id = secrets.token_hex(8)
        key = ec.generate_private_key(ec.SECP256R1())
        private_der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public_der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        state["keys"][key_id] = {
            "private": _seal(self._master, private_der, self._card._aad(state, f"key:{key_id}")),
            "public": _b64(public_der),
            "created": dt.datetime.now(dt.UTC).isoformat(),
        }
        self._card._save(state)
        return key_id, public_der

    def public_key(self, key_id: str) -> bytes:
        state = self._card._load()
        if key_id not in state["keys"]:
            raise CardError(f"The card holds no key {key_id}.")
        return _unb64(state["keys"][key_id]["public"])

    def sign(self, key_id: str, data: bytes) -> bytes:
        key = self._private(self._card._load(), key_id)
        return key.sign(data, ec.ECDSA(hashes.SHA256()))

    def write_certificate(self, key_id: str, der: bytes) -> None:
        state = self._card._load()
        if key_id not in state["keys"]:
            raise CardError(f"The card holds no key {key_id}.")
        cert_key = (
            x509.load_der_x509_certificate(der)
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        if cert_key != _unb64(state["keys"][key_id]["public"]):
            raise CardError("That certificate is not for a key on this card.")
        state["certificates"][key_id] = _b64(der)
        self._card._save(state)

    def delete_key(self, key_id: str) -> None:
        state = self._card._load()
        state["keys"].pop(key_id, None)
        state["certificates"].pop(key_id, None)
        self._card._save(state)

    def key_ids(self) -> list[str]:
        return sorted(self._card._load()["keys"])

    def store_lock_report_key(self, key: bytes) -> None:
        # Stored in the clear like a chip's public object: it must work while the card is locked,
        # and whoever can read the file holds the card and could lock it anyway.
        state = self._card._load()
        state["lock_report_key"] = _b64(key)
        self._card._save(state)
