"""The provider's signing keys (ES256 and RS256): encrypted PKCS#8 files in the data directory.

Each algorithm has its own keys: ES256 (P-256, CIS's default) and RS256 (RSA 2048, which
OpenID Connect requires every provider to offer), chosen per client. The newest key of each
signs; the one before it stays in the JWKS until its tokens have expired, so a key rotation
(`cis oidc rotate-key`) never breaks a relying party that cached the previous set. Without
CIS_OIDC_KEY_PASSPHRASE the passphrase is a random 0600 file beside the keys, as the CA's
embedded key store does; production sets the variable and keeps the secret elsewhere.

Keys are made on first use, and several processes may get there at once (the first grants on
a fresh install): making and pruning key files happens under an exclusive lock on a file in the
directory, and only when the set is still missing once the lock is held, so one key is made
and nobody prunes a key another process is about to read.
"""

from __future__ import annotations

import base64
import fcntl
import functools
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from django.conf import settings
from jwcrypto import jwk, jws

from cis.core import clock
from cis.core.private_files import secret_file, write_private

from .constants import SIGNING_ALG, SIGNING_ALGS

KEEP_KEYS = 2  # the signing key and the one before it, per algorithm
KEY_SUFFIX = ".pem"
# The file name prefix of each algorithm's keys ("signing-" is the ES256 name from before RS256).
KEY_PREFIXES = {"ES256": "signing-", "RS256": "rs256-signing-"}
RSA_BITS = 2048
LOCK_FILE = ".keys.lock"
_cache: dict[tuple[str, tuple[str, ...]], dict[str, list[SigningKey]]] = {}
# directory -> (its modification time, when it was listed, the key files then), nanoseconds
_listings: dict[str, tuple[int, int, tuple[str, ...]]] = {}
SETTLED_NS = 2_000_000_000
_lock = threading.Lock()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    jwk: jwk.JWK
    alg: str = SIGNING_ALG

    def public_jwk(self) -> dict[str, str]:
        data: dict[str, str] = self.jwk.export_public(as_dict=True)
        return {**data, "kid": self.kid, "alg": self.alg, "use": "sig"}

    @functools.cached_property
    def private_key(self) -> Any:
        """The `cryptography` private key (EC for ES256, RSA for RS256)."""
        return self.jwk.get_op_key("sign")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_jwt(claims: dict[str, Any], *, alg: str = SIGNING_ALG, typ: str = "JWT") -> str:
    """A compact JWS (RFC 7515) of the claims, with the current key of `alg` (RFC 7518 §3).

    Done here with `cryptography` rather than jwcrypto's JWT class, which copies its header
    registry on every token: ES256 is P-256 ECDSA over SHA-256 as the fixed-length r || s that
    JWS requires (not DER); RS256 is RSASSA-PKCS1-v1_5 over SHA-256.
    """
    key = signing_key(alg)
    header = {"typ": typ, "alg": alg, "kid": key.kid}
    signing_input = (
        f"{_b64url(json.dumps(header).encode())}."
        f"{_b64url(json.dumps(claims, default=str).encode())}"
    ).encode("ascii")
    if alg == "RS256":
        signature = key.private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{signing_input.decode('ascii')}.{_b64url(signature)}"


def _key_directory() -> Path:
    """Where the keys live; made (owner only) when the first key is (see _load)."""
    return Path(settings.DATA_DIR) / "oidc"


def _directory() -> Path:
    path = _key_directory()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


@contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """Only one process (and thread) at a time makes or prunes key files."""
    with _lock, open(directory / LOCK_FILE, "a") as handle:  # noqa: PTH123 - an fd for flock
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _passphrase(directory: Path) -> bytes:
    configured: str = settings.CIS_OIDC_KEY_PASSPHRASE
    if configured:
        return configured.encode()
    return secret_file(directory / "key-passphrase", lambda: secrets.token_urlsafe(32).encode())


def _alg_of(name: str) -> str | None:
    # The longest matching prefix: "rs256-signing-" before "signing-".
    for alg, prefix in sorted(KEY_PREFIXES.items(), key=lambda item: -len(item[1])):
        if name.startswith(prefix) and name.endswith(KEY_SUFFIX):
            return alg
    return None


def _key_names(directory: Path) -> tuple[str, ...]:
    """The key files of every algorithm, newest first within each (names carry their time)."""
    names = (n for n in os.listdir(directory) if _alg_of(n) is not None)
    return tuple(sorted(names, reverse=True))


def _names_of(names: tuple[str, ...], alg: str) -> list[str]:
    return [n for n in names if _alg_of(n) == alg]


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


def _new_private_key(alg: str) -> Any:
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(directory: Path, alg: str) -> Path:
    """A new key of `alg`, which signs from now on; the oldest beyond KEEP_KEYS is removed.
    The caller holds the directory's lock."""
    pem = _new_private_key(alg).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_passphrase(directory)),
    )
    stamp = clock.now().strftime("%Y%m%dT%H%M%S%f")
    path = directory / f"{KEY_PREFIXES[alg]}{stamp}{KEY_SUFFIX}"
    write_private(path, pem)
    for old in _names_of(_key_names(directory), alg)[KEEP_KEYS:]:
        (directory / old).unlink(missing_ok=True)
    return path


def generate_key(alg: str | None = None) -> list[Path]:
    """Rotate: a new key for `alg` (or for every algorithm), which signs from now on."""
    directory = _directory()
    with _exclusive(directory):
        return [_write_key(directory, a) for a in ([alg] if alg else SIGNING_ALGS)]


def _ensure_keys(directory: Path) -> None:
    """Make the missing algorithms' first keys, unless another process has by the time the
    lock is ours."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _exclusive(directory):
        names = _key_names(directory)
        for alg in SIGNING_ALGS:
            if not _names_of(names, alg):
                _write_key(directory, alg)


def _load(directory: Path) -> dict[str, list[SigningKey]]:
    """The keys by algorithm, parsed once per process and again only when the files change.

    Key files are never rewritten in place (each is created once, O_EXCL, under a new
    timestamped name), so the list of names identifies the key set: a rotation by another
    process (`cis oidc rotate-key`) is seen on the next call, for the price of a stat (see
    _current_key_names). A file pruned by a rotation between listing and reading is listed
    again.
    """
    for _attempt in range(3):
        try:
            names = _current_key_names(directory)
        except FileNotFoundError:
            names = ()
        if any(not _names_of(names, alg) for alg in SIGNING_ALGS):
            _ensure_keys(directory)
            names = _key_names(directory)
        cache_key = (str(directory), names)
        with _lock:
            found = _cache.get(cache_key)
        if found is not None:
            return found
        try:
            keys = _read(directory, names)
        except FileNotFoundError:
            _listings.pop(str(directory), None)
            continue
        with _lock:
            _cache.clear()  # only the current set is ever needed again
            _cache[cache_key] = keys
        return keys
    raise RuntimeError(f"The signing keys in {directory} keep changing while being read.")


def _read(directory: Path, names: tuple[str, ...]) -> dict[str, list[SigningKey]]:
    password = _passphrase(directory)
    keys: dict[str, list[SigningKey]] = {}
    for alg in SIGNING_ALGS:
        keys[alg] = []
        for name in _names_of(names, alg)[:KEEP_KEYS]:
            key = jwk.JWK.from_pem((directory / name).read_bytes(), password=password)
            keys[alg].append(SigningKey(kid=key.thumbprint(), jwk=key, alg=alg))
    return keys


def signing_key(alg: str = SIGNING_ALG) -> SigningKey:
    """The key that signs with `alg` now (made on first use)."""
    return _load(_key_directory())[alg][0]


def published_keys() -> list[SigningKey]:
    """Every key a relying party may still meet in a token, of every algorithm: the JWKS."""
    return [key for keys in _load(_key_directory()).values() for key in keys]


def key_for(kid: str | None, alg: str = SIGNING_ALG) -> SigningKey | None:
    """The published key of `alg` with this kid (without a kid: the current key of `alg`)."""
    for key in _load(_key_directory())[alg]:
        if kid is None or key.kid == kid:
            return key
    return None


def verify_jwt(token: str) -> dict[str, Any] | None:
    """The claims of a compact JWS this provider signed, or None (any other token, unsigned,
    HS256, a key no longer published, a bad signature). Expiry is the caller's concern."""
    try:
        candidate = jws.JWS()
        candidate.deserialize(token)
        header = candidate.jose_header
        if not isinstance(header, dict) or header.get("alg") not in SIGNING_ALGS:
            return None
        kid, alg = header.get("kid"), header["alg"]
        found = key_for(kid, alg) if isinstance(kid, str) else None
        if found is None:
            return None
        candidate.verify(found.jwk, alg=alg)
        claims = json.loads(candidate.payload)
    except (jws.InvalidJWSObject, jws.InvalidJWSSignature, ValueError, TypeError):
        return None
    return claims if isinstance(claims, dict) else None
