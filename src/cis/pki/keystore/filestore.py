"""The embedded key store: PKCS#8 files encrypted with a key-encryption passphrase."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from cis.core.errors import InvalidState
from cis.core.private_files import secret_file, write_private

from .base import KeyAlgorithm, KeyStore, SigningKey

_LABEL_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# Decrypting a PKCS#8 file runs a deliberately slow KDF: keep what this process has opened.
_loaded: dict[tuple[str, float], SigningKey] = {}
_secrets: dict[str, bytes] = {}
_lock = threading.Lock()


class FileKeyStore(KeyStore):
    kind = "file"

    def __init__(self, directory: Path, passphrase: bytes) -> None:
        if not passphrase:
            raise InvalidState("The CA key passphrase is empty.")
        self.directory = directory
        self._passphrase = passphrase

    @classmethod
    def from_settings(cls) -> FileKeyStore:
        directory = Path(settings.DATA_DIR) / "ca"
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        passphrase = settings.CIS_CA_KEY_PASSPHRASE
        if not passphrase:
            passphrase = cls._generated_passphrase(directory)
        return cls(directory, passphrase.encode())

    @staticmethod
    def _generated_passphrase(directory: Path) -> str:
        """Without CIS_CA_KEY_PASSPHRASE, one random passphrase per data directory (mode 0600)."""
        made = secret_file(directory / "key-passphrase", lambda: secrets.token_urlsafe(32).encode())
        return made.decode()

    def _path(self, label: str) -> Path:
        if not _LABEL_RE.fullmatch(label):
            raise InvalidState(f"'{label}' is not a usable key label.")
        return self.directory / f"{label}.key.pem"

    def generate(self, *, label: str, algorithm: KeyAlgorithm) -> SigningKey:
        key: SigningKey
        if algorithm.is_ec:
            key = ec.generate_private_key(algorithm.curve)
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=algorithm.rsa_bits)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._passphrase),
        )
        write_private(self._path(label), pem)
        return key

    def load(self, label: str) -> SigningKey:
        path = self._path(label)
        try:
            stamp = path.stat().st_mtime
        except FileNotFoundError:
            raise InvalidState(
                f"The CA key file {path.name} is missing from {self.directory}."
            ) from None
        cache_key = (str(path), stamp)
        with _lock:
            if cache_key in _loaded:
                return _loaded[cache_key]
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), self._passphrase)
        except ValueError:
            raise InvalidState(
                f"The CA key file {path.name} cannot be decrypted: check CIS_CA_KEY_PASSPHRASE."
            ) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise InvalidState(f"The CA key file {path.name} holds an unsupported key type.")
        with _lock:
            _loaded[cache_key] = key
        return key

    def exists(self, label: str) -> bool:
        return self._path(label).exists()

    def destroy(self, label: str) -> None:
        self._path(label).unlink(missing_ok=True)

    def describe(self) -> str:
        source = "CIS_CA_KEY_PASSPHRASE" if settings.CIS_CA_KEY_PASSPHRASE else "key-passphrase"
        return f"encrypted PKCS#8 files in {self.directory} (passphrase from {source})"

    # A MAC secret is derived (HKDF-SHA256) from a P-256 private key kept like every other key
    # here, so it is encrypted at rest under the same passphrase; an HSM (the PKCS#11 store)
    # keeps a real secret key where nobody can read it.

    def _mac_label(self, label: str) -> str:
        return f"{label}.mac"

    def generate_mac_key(self, label: str) -> None:
        try:
            self.generate(label=self._mac_label(label), algorithm=KeyAlgorithm.EC_P256)
        except FileExistsError:
            raise InvalidState(f"A secret key labelled '{label}' exists already.") from None

    def mac_key_exists(self, label: str) -> bool:
        return self.exists(self._mac_label(label))

    def mac(self, label: str, data: bytes) -> bytes:
        path = str(self._path(self._mac_label(label)))
        key = _secrets.get(path)
        if key is None:
            private = self.load(self._mac_label(label))
            if not isinstance(private, ec.EllipticCurvePrivateKey):
                raise InvalidState(f"The key file for '{label}' is not a MAC key.")
            scalar = private.private_numbers().private_value.to_bytes(32, "big")
            key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"cis-mac-key").derive(
                scalar
            )
            with _lock:
                _secrets[path] = key
        return hmac.new(key, data, hashlib.sha256).digest()
