"""The embedded key store: PKCS#8 files encrypted with a key-encryption passphrase."""

from __future__ import annotations

import re
import secrets
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings

from cis.core.errors import InvalidState
from cis.core.private_files import secret_file, write_private

from .base import KeyAlgorithm, KeyStore, SigningKey

_LABEL_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# Decrypting a PKCS#8 file runs a deliberately slow KDF: keep what this process has opened.
_loaded: dict[tuple[str, float], SigningKey] = {}
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
