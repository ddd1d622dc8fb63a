"""Where the CA's private keys live: an encrypted file or a PKCS#11 token, behind one interface."""

from __future__ import annotations

from django.conf import settings

from cis.core.errors import InvalidState

from .base import KeyAlgorithm, KeyStore, SignatureHash, SigningKey
from .filestore import FileKeyStore
from .pkcs11store import Pkcs11KeyStore

__all__ = [
    "FileKeyStore",
    "KeyAlgorithm",
    "KeyStore",
    "Pkcs11KeyStore",
    "SignatureHash",
    "SigningKey",
    "key_store",
]


def key_store(kind: str | None = None) -> KeyStore:
    """The store of that kind (default: CIS_CA_KEY_STORE), configured from settings."""
    kind = kind or settings.CIS_CA_KEY_STORE
    if kind == FileKeyStore.kind:
        return FileKeyStore.from_settings()
    if kind == Pkcs11KeyStore.kind:
        return Pkcs11KeyStore.from_settings()
    raise InvalidState(f"CIS_CA_KEY_STORE is '{kind}': use 'file' or 'pkcs11'.")
