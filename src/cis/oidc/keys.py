"""The provider's ES256 signing keys: encrypted PKCS#8 files in the data directory.

The newest key signs; older ones stay in the JWKS until their tokens have expired, so a key
rotation (`cis oidc rotate-key`) never breaks a relying party that cached the previous set.
Without CIS_OIDC_KEY_PASSPHRASE the passphrase is a random 0600 file beside the keys, as the
CA's embedded key store does; production sets the variable and keeps the secret elsewhere.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from jwcrypto import jwk

from cis.core import clock

from .constants import SIGNING_ALG

KEEP_KEYS = 2  # the signing key and the one before it
_cache: dict[tuple[str, float], list[SigningKey]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    jwk: jwk.JWK

    def public_jwk(self) -> dict[str, str]:
        data: dict[str, str] = self.jwk.export_public(as_dict=True)
        return {**data, "kid": self.kid, "alg": SIGNING_ALG, "use": "sig"}


def _directory() -> Path:
    path = Path(settings.DATA_DIR) / "oidc"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _passphrase(directory: Path) -> bytes:
    configured: str = settings.CIS_OIDC_KEY_PASSPHRASE
    if configured:
        return configured.encode()
    path = directory / "key-passphrase"
    if not path.exists():
        try:
            _write_private(path, secrets.token_urlsafe(32).encode())
        except FileExistsError:
            pass  # another process made it first
    return path.read_bytes().strip()


def _key_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("signing-*.pem"), reverse=True)


def generate_key() -> Path:
    """A new P-256 key, which signs from now on; the oldest beyond KEEP_KEYS is removed."""
    directory = _directory()
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_passphrase(directory)),
    )
    stamp = clock.now().strftime("%Y%m%dT%H%M%S%f")
    path = directory / f"signing-{stamp}.pem"
    _write_private(path, pem)
    for old in _key_files(directory)[KEEP_KEYS:]:
        old.unlink(missing_ok=True)
    return path


def _load(directory: Path) -> list[SigningKey]:
    files = _key_files(directory)
    if not files:
        try:
            generate_key()
        except FileExistsError:
            pass
        files = _key_files(directory)
    stamp = max(f.stat().st_mtime for f in files)
    cache_key = (str(directory), stamp + len(files))
    with _lock:
        found = _cache.get(cache_key)
    if found is not None:
        return found
    password = _passphrase(directory)
    keys = []
    for path in files[:KEEP_KEYS]:
        key = jwk.JWK.from_pem(path.read_bytes(), password=password)
        keys.append(SigningKey(kid=key.thumbprint(), jwk=key))
    with _lock:
        _cache[cache_key] = keys
    return keys


def signing_key() -> SigningKey:
    """The key that signs ID tokens now (made on first use)."""
    return _load(_directory())[0]


def published_keys() -> list[SigningKey]:
    """Every key a relying party may still meet in a token: the JWKS."""
    return _load(_directory())


def key_for(kid: str | None) -> SigningKey | None:
    for key in published_keys():
        if kid is None or key.kid == kid:
            return key
    return None
