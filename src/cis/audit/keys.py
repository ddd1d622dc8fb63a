"""The audit trail's keys, kept in the key store (a file or a PKCS#11 token), never in the database.

Two kinds: HMAC-SHA256 secrets that seal every event ("k1", "k2", ... after each rotation; each
event names the one that sealed it), and an ECDSA key that signs the checkpoints, whose public
half anyone may hold to check them. Someone who can write to the database but not read the key
store can neither seal a forged event nor sign a checkpoint.
"""

from __future__ import annotations

import re
import threading
from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

from cis.core.errors import InvalidState
from cis.pki.keystore import KeyAlgorithm, KeyStore, key_store

MAC_LABEL = "cis-audit-mac-{key_id}"
CHECKPOINT_LABEL = "cis-audit-checkpoint"
_KEY_ID_RE = re.compile(r"^k([1-9][0-9]{0,3})$")
_lock = threading.Lock()
_current: dict[str, str] = {}
_stores: dict[str, KeyStore] = {}


def store() -> KeyStore:
    """The store the audit keys live in: CIS_AUDIT_KEY_STORE, by default the CA's (one per
    process, since every change seals its event with it)."""
    where = _where()
    found = _stores.get(where)
    if found is None:
        found = key_store(settings.CIS_AUDIT_KEY_STORE or settings.CIS_CA_KEY_STORE)
        _stores[where] = found
    return found


def _key_ids(keys: KeyStore) -> list[str]:
    """The MAC keys in the store, oldest first (k1, k2, ...), probing up to the first gap."""
    found = []
    number = 1
    while keys.mac_key_exists(MAC_LABEL.format(key_id=f"k{number}")):
        found.append(f"k{number}")
        number += 1
    return found


def ensure() -> str:
    """Make the first MAC key and the checkpoint key where missing; the current key's id."""
    keys = store()
    with _lock:
        ids = _key_ids(keys)
        if not ids:
            try:
                keys.generate_mac_key(MAC_LABEL.format(key_id="k1"))
            except InvalidState:
                pass  # another process made it a moment ago
            ids = ["k1"]
        if not keys.exists(CHECKPOINT_LABEL):
            try:
                keys.generate(label=CHECKPOINT_LABEL, algorithm=KeyAlgorithm.EC_P256)
            except (InvalidState, FileExistsError):
                pass
        _current[_where()] = ids[-1]
        return ids[-1]


def _where() -> str:
    return f"{settings.DATA_DIR}|{settings.CIS_AUDIT_KEY_STORE or settings.CIS_CA_KEY_STORE}"


def current_key_id() -> str:
    """The key new events are sealed with (remembered per process; a rotation is picked up by
    processes started after it)."""
    found = _current.get(_where())
    return found if found is not None else ensure()


def rotate() -> str:
    """Make the next MAC key; events written from now on (by processes started from now on) are
    sealed with it, and the older keys stay to check the events they sealed."""
    keys = store()
    ensure()
    with _lock:
        ids = _key_ids(keys)
        new = f"k{len(ids) + 1}"
        keys.generate_mac_key(MAC_LABEL.format(key_id=new))
        _current[_where()] = new
        return new


def seal(key_id: str, data: bytes) -> str:
    """HMAC-SHA256 of data under that key, as hex."""
    if not _KEY_ID_RE.fullmatch(key_id):
        raise InvalidState(f"'{key_id}' is not an audit key id.")
    return store().mac(MAC_LABEL.format(key_id=key_id), data).hex()


def sign_checkpoint(data: bytes) -> bytes:
    key = store().load(CHECKPOINT_LABEL)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InvalidState("The audit checkpoint key is not an EC key.")
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


@cache
def _public(pem: bytes) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise InvalidState("The audit checkpoint key is not an EC key.")
    return key


def checkpoint_public_pem() -> bytes:
    """The checkpoint key's public half (for `cis audit public-key` and outside verifiers)."""
    key = store().load(CHECKPOINT_LABEL).public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def checkpoint_signature_valid(
    data: bytes, signature: bytes, public_pem: bytes | None = None
) -> bool:
    key = _public(public_pem or checkpoint_public_pem())
    try:
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def forget() -> None:
    """Drop what this process remembers (tests that change the data directory)."""
    _current.clear()
    _stores.clear()
