"""How a card's signature over a wire message is checked: ECDSA P-256 with SHA-256."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key


def verify_signature(public_key_der: bytes, signature: bytes, data: bytes) -> bool:
    """True if `signature` (DER) is the card key's ECDSA-SHA256 signature over `data`.

    `public_key_der` is the key as a DER SubjectPublicKeyInfo; any key that is not an EC key
    verifies nothing.
    """
    key = load_der_public_key(public_key_der)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    try:
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
