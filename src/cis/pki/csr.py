"""Reading a certificate signing request: proof of possession and the keys CIS accepts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cis.core.errors import ValidationFailed

from .constants import (
    ALLOWED_CSR_HASHES,
    ALLOWED_CURVES,
    MAX_RSA_BITS,
    MIN_RSA_BITS,
    MIN_RSA_EXPONENT,
)

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


@dataclass(frozen=True)
class CheckedRequest:
    """A CSR whose signature verified; only its public key is used, never its subject."""

    public_key: PublicKey
    key_algorithm: str
    spki_sha256: str


def _load(data: bytes) -> x509.CertificateSigningRequest:
    try:
        # Only PEM may be trimmed: a DER request can end in a byte that looks like whitespace.
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_csr(data.strip())
        return x509.load_der_x509_csr(data)
    except ValueError:
        raise ValidationFailed(
            "This is not a readable certificate signing request (PKCS#10, PEM or DER).",
            field="csr",
        ) from None


def check_request(data: bytes) -> CheckedRequest:
    """Verify the CSR's own signature (proof the requester holds the key) and its key type."""
    request = _load(data)
    try:
        key = request.public_key()
    except (ValueError, x509.UnsupportedGeneralNameType):
        raise ValidationFailed("The request's public key cannot be read.", field="csr") from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise ValidationFailed(
                f"The request carries an RSA key of {key.key_size} bits; CIS needs at least "
                f"{MIN_RSA_BITS} bits. Generate a new key on the card.",
                field="csr",
            )
        if key.key_size > MAX_RSA_BITS:
            raise ValidationFailed(
                f"The request carries an RSA key of {key.key_size} bits; the most CIS accepts "
                f"is {MAX_RSA_BITS}.",
                field="csr",
            )
        exponent = key.public_numbers().e
        if exponent < MIN_RSA_EXPONENT or exponent % 2 == 0:
            raise ValidationFailed(
                f"The request's RSA key has the public exponent {exponent}; CIS needs an odd "
                f"exponent of at least {MIN_RSA_EXPONENT} (CA/Browser Forum Baseline "
                "Requirements 6.1.6). Generate a new key on the card.",
                field="csr",
            )
        algorithm = f"rsa-{key.key_size}"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ALLOWED_CURVES:
            raise ValidationFailed(
                f"The request uses the elliptic curve {key.curve.name}; CIS accepts only "
                "P-256 (secp256r1) and P-384 (secp384r1).",
                field="csr",
            )
        algorithm = "ec-p384" if key.curve.name == "secp384r1" else "ec-p256"
    else:
        raise ValidationFailed(
            f"The request carries a {type(key).__name__.removesuffix('PublicKey') or 'unknown'} "
            "key; CIS accepts RSA (2048 bits or more) or ECDSA on P-256 or P-384.",
            field="csr",
        )
    try:
        signed_with = request.signature_hash_algorithm
    except UnsupportedAlgorithm:
        raise ValidationFailed(
            "The request is signed with an algorithm CIS does not accept; sign it with ECDSA or "
            "RSA over SHA-256, SHA-384 or SHA-512.",
            field="csr",
        ) from None
    if signed_with is not None and signed_with.name not in ALLOWED_CSR_HASHES:
        raise ValidationFailed(
            f"The request is signed with {signed_with.name.upper()}, which CIS no longer trusts "
            "to prove possession of a key; sign it with SHA-256, SHA-384 or SHA-512.",
            field="csr",
        )
    try:
        valid = request.is_signature_valid
    except Exception:  # noqa: BLE001 - any failure to verify is a failed proof of possession
        valid = False
    if not valid:
        raise ValidationFailed(
            "The request's signature does not verify, so it does not prove possession of the "
            "private key. Make a new request on the card.",
            field="csr",
        )
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return CheckedRequest(
        public_key=key, key_algorithm=algorithm, spki_sha256=hashlib.sha256(spki).hexdigest()
    )
