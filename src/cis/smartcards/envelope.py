"""Envelope encryption of card SO PINs: a data key per secret, wrapped by the key-encryption key.

The key-encryption key (KEK) is 32 random bytes from CIS_CARD_KEK (base64) or, by default, the
file `card-kek.key` in the data directory, made on first use with mode 0600. Secrets are bound
to the card they belong to (AES-GCM associated data), so an envelope moved to another card's
row fails to open.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from cis.core.private_files import secret_file

VERSION = 1


def _kek() -> bytes:
    if configured := str(settings.CIS_CARD_KEK):
        key = base64.b64decode(configured)
    else:
        stored = secret_file(
            Path(settings.DATA_DIR) / "card-kek.key",
            lambda: base64.b64encode(secrets.token_bytes(32)),
        )
        key = base64.b64decode(stored)
    if len(key) != 32:
        raise RuntimeError("The card key-encryption key must be 32 bytes (base64-encoded).")
    return key


def _kek_id(kek: bytes) -> str:
    return hashlib.sha256(b"cis-card-kek" + kek).hexdigest()[:12]


def _encrypt(key: bytes, data: bytes, aad: bytes) -> str:
    nonce = secrets.token_bytes(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, data, aad)).decode()


def _decrypt(key: bytes, sealed: str, aad: bytes) -> bytes:
    raw = base64.b64decode(sealed)
    return AESGCM(key).decrypt(raw[:12], raw[12:], aad)


def seal(secret: str, *, context: str) -> str:
    kek = _kek()
    data_key = secrets.token_bytes(32)
    envelope = {
        "v": VERSION,
        "kek": _kek_id(kek),
        "key": _encrypt(kek, data_key, b"cis-card-data-key:" + context.encode()),
        "data": _encrypt(data_key, secret.encode(), context.encode()),
    }
    return json.dumps(envelope, separators=(",", ":"))


def unseal(sealed: str, *, context: str) -> str:
    envelope = json.loads(sealed)
    kek = _kek()
    if envelope.get("v") != VERSION or envelope.get("kek") != _kek_id(kek):
        raise RuntimeError("This SO PIN was sealed under another key-encryption key.")
    try:
        data_key = _decrypt(kek, envelope["key"], b"cis-card-data-key:" + context.encode())
        return _decrypt(data_key, envelope["data"], context.encode()).decode()
    except InvalidTag:
        raise RuntimeError("This SO PIN envelope does not belong to this card.") from None


def derive(context: str) -> bytes:
    """A 32-byte key for one purpose and one card, derived from the KEK (HKDF-SHA256).

    Nothing derived is stored: the same KEK and context give the same key again, and a key for
    one card or purpose says nothing about another's.
    """
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"cis-card-derived-v1", info=context.encode()
    ).derive(_kek())
