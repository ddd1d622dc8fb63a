"""The key-store interface and the key algorithms a CA may use."""

from __future__ import annotations

import abc
from enum import StrEnum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cis.core.errors import ValidationFailed

# cryptography's builders accept any object implementing these interfaces, so a key that lives
# on a token signs certificates, CRLs and OCSP responses through the same calls as a file key.
SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
SignatureHash = hashes.SHA256 | hashes.SHA384


class KeyAlgorithm(StrEnum):
    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"
    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"

    @classmethod
    def parse(cls, value: str) -> KeyAlgorithm:
        try:
            return cls(value.strip().lower())
        except ValueError:
            options = ", ".join(a.value for a in cls)
            raise ValidationFailed(
                f"'{value}' is not a CA key algorithm: use one of {options}.", field="algorithm"
            ) from None

    @property
    def is_ec(self) -> bool:
        return self.value.startswith("ec-")

    @property
    def curve(self) -> ec.EllipticCurve:
        return ec.SECP384R1() if self is KeyAlgorithm.EC_P384 else ec.SECP256R1()

    @property
    def rsa_bits(self) -> int:
        return int(self.value.split("-")[1])

    def signature_hash(self) -> SignatureHash:
        """The digest paired with the key: SHA-384 for P-384, SHA-256 otherwise."""
        return hashes.SHA384() if self is KeyAlgorithm.EC_P384 else hashes.SHA256()

    @classmethod
    def of(cls, key: SigningKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> KeyAlgorithm:
        if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            return cls.EC_P384 if key.curve.name == "secp384r1" else cls.EC_P256
        return cls(f"rsa-{key.key_size}")


class KeyStore(abc.ABC):
    """Generates, finds and destroys CA signing keys by label. Private keys never leave it."""

    kind: str

    @abc.abstractmethod
    def generate(self, *, label: str, algorithm: KeyAlgorithm) -> SigningKey:
        """Make a new key pair inside the store and return a handle that can sign."""

    @abc.abstractmethod
    def load(self, label: str) -> SigningKey:
        """A handle on an existing key; raises InvalidState when it is missing."""

    @abc.abstractmethod
    def exists(self, label: str) -> bool: ...

    @abc.abstractmethod
    def destroy(self, label: str) -> None:
        """Remove a retired key (the OCSP signing keys rotate)."""

    @abc.abstractmethod
    def describe(self) -> str:
        """Where the keys are, for operators (never any secret)."""

    # Secret keys for HMAC-SHA256 (the audit trail's seals): made in the store, used there.

    @abc.abstractmethod
    def generate_mac_key(self, label: str) -> None:
        """Make a new 256-bit secret for HMAC-SHA256; refuses a label already in use."""

    @abc.abstractmethod
    def mac_key_exists(self, label: str) -> bool: ...

    @abc.abstractmethod
    def mac(self, label: str, data: bytes) -> bytes:
        """HMAC-SHA256 of `data` under the secret `label`; InvalidState when it is missing."""
