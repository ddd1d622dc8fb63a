"""The provider's ES256 signing keys: encrypted PKCS#8 files in the data directory.

The newest key signs; older ones stay in the JWKS until their tokens have expired, so a key
rotation (`cis oidc rotate-key`) never breaks a relying party that cached the previous set.
Without CIS_OIDC_KEY_PASSPHRASE the passphrase is a random 0600 file beside the keys, as the
CA's embedded key store does; production sets the variable and keeps the secret elsewhere.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from django.conf import settings
from jwcrypto import jwk

from cis.core import clock
from cis.core.private_files import secret_file, write_private

from .constants import SIGNING_ALG

KEEP_KEYS = 2  # the signing key and the one before it
KEY_PREFIX, KEY_SUFFIX = "signing-", ".pem"
_cache: dict[tuple[str, tuple[str, ...]], list[SigningKey]] = {}
# directory -> (its modification time, when it was listed, the key files then), nanoseconds
_listings: dict[str, tuple[int, int, tuple[str, ...]]] = {}
SETTLED_NS = 2_000_000_000
_lock = threading.Lock()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    jwk: jwk.JWK

    def public_jwk(self) -> dict[str, str]:
        data: dict[str, str] = self.jwk.export_public(as_dict=True)
        return {**data, "kid": self.kid, "alg": SIGNING_ALG, "use": "sig"}

    @functools.cached_property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        key: ec.EllipticCurvePrivateKey = self.jwk.get_op_key("sign")
        return key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_jwt(claims: dict[str, Any]) -> str:
    """A compact JWS (RFC 7515) of the claims, ES256 with the current key (RFC 7518 §3.4).

    Done here with `cryptography` rather than jwcrypto's JWT class, which copies its header
    registry on every token: the signature is the same P-256 ECDSA over SHA-256, as the
    fixed-length r || s that JWS requires (not DER), and relying parties verify it as before.
    """
    key = signing_key()
    header = {"typ": "JWT", "alg": SIGNING_ALG, "kid": key.kid}
    signing_input = (
        f"{_b64url(json.dumps(header).encode())}."
        f"{_b64url(json.dumps(claims, default=str).encode())}"
    )
    r, s = decode_dss_signature(
        key.private_key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    )
    return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _key_directory() -> Path:
    """Where the keys live; made (owner only) when the first key is (see _load)."""
    return Path(settings.DATA_DIR) / "oidc"


def _directory() -> Path:
    path = _key_directory()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _passphrase(directory: Path) -> bytes:
    configured: str = settings.CIS_OIDC_KEY_PASSPHRASE
    if configured:
        return configured.encode()
    return secret_file(directory / "key-passphrase", lambda: secrets.token_urlsafe(32).encode())


def _key_files(directory: Path) -> list[Path]:
    return [directory / name for name in _key_names(directory)]


def _key_names(directory: Path) -> tuple[str, ...]:
    """The key files, newest first (their names carry the time they were made)."""
    names = (
        n for n in os.listdir(directory) if n.startswith(KEY_PREFIX) and n.endswith(KEY_SUFFIX)
    )
    return tuple(sorted(names, reverse=True))


def _current_key_names(directory: Path) -> tuple[str, ...]:
    """_key_names, listed again only when the directory may have changed since the last listing.

    Making or removing a key file moves the directory's modification time. A listing taken
    more than SETTLED_NS after the last such change therefore stays true for as long as the
    time stays the same: any later change would carry a later time, whatever the file system's
    clock granularity. So each token costs a stat, not a listdir, and a rotation is still seen
    on the next token. (A directory changed within SETTLED_NS is listed every time.)
    """
    mtime = os.stat(directory).st_mtime_ns
    seen = _listings.get(str(directory))
    if seen is not None and seen[0] == mtime and seen[1] - mtime > SETTLED_NS:
        return seen[2]
    listed_at = time.time_ns()
    names = _key_names(directory)
    _listings[str(directory)] = (mtime, listed_at, names)
    return names


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
    write_private(path, pem)
    for old in _key_files(directory)[KEEP_KEYS:]:
        old.unlink(missing_ok=True)
    return path


def _load(directory: Path) -> list[SigningKey]:
    """The keys, parsed once per process and again only when the set of key files changes.

    Key files are never rewritten in place (each is created once, O_EXCL, under a new
    timestamped name), so the list of names identifies the key set: a rotation by another
    process (`cis oidc rotate-key`) is seen on the next call, for the price of a stat (see
    _current_key_names).
    """
    try:
        names = _current_key_names(directory)
    except FileNotFoundError:
        names = ()
    if not names:
        try:
            generate_key()
        except FileExistsError:
            pass
        names = _key_names(directory)
    cache_key = (str(directory), names)
    with _lock:
        found = _cache.get(cache_key)
    if found is not None:
        return found
    password = _passphrase(directory)
    keys = []
    for name in names[:KEEP_KEYS]:
        key = jwk.JWK.from_pem((directory / name).read_bytes(), password=password)
        keys.append(SigningKey(kid=key.thumbprint(), jwk=key))
    with _lock:
        _cache.clear()  # only the current set is ever needed again
        _cache[cache_key] = keys
    return keys


def signing_key() -> SigningKey:
    """The key that signs ID tokens now (made on first use)."""
    return _load(_key_directory())[0]


def published_keys() -> list[SigningKey]:
    """Every key a relying party may still meet in a token: the JWKS."""
    return _load(_key_directory())


def key_for(kid: str | None) -> SigningKey | None:
    for key in published_keys():
        if kid is None or key.kid == kid:
            return key
    return None
