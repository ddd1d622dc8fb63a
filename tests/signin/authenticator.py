"""A software FIDO2 authenticator (ES256) for tests, built on cryptography.

Its attestation is "none" unless it is given a vendor (`Vendor`): then it attests "packed" with
an x5c certificate that vendor's root signed, as a hardware security key does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import struct
import uuid
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from cis.signin.webauthn import b64url, unb64url

UP, UV, AT = 0x01, 0x04, 0x40


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "GB"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Keys Ltd"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Authenticator Attestation"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


@dataclass
class Vendor:
    """A security-key maker: an attestation root, and the model (AAGUID) it certifies."""

    aaguid: str = field(default_factory=lambda: str(uuid.uuid4()))
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def __post_init__(self) -> None:
        now = dt.datetime.now(dt.UTC)
        self.root = (
            x509.CertificateBuilder()
            .subject_name(_name("Test Keys Root"))
            .issuer_name(_name("Test Keys Root"))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def root_pem(self) -> bytes:
        return self.root.public_bytes(Encoding.PEM)

    def attestation(self) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
        """A batch attestation key and its certificate (DER), signed by the root."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name("Test Key Batch 1"))
            .issuer_name(self.root.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        return key, cert.public_bytes(Encoding.DER)


@dataclass
class SoftAuthenticator:
    origin: str = "http://testserver"
    rp_id: str = "testserver"
    user_verifying: bool = True
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    sign_count: int = 0
    user_handle: bytes = b""
    vendor: Vendor | None = None  # None: attestation "none", as a software authenticator

    def _flags(self, extra: int = 0) -> bytes:
        return bytes([UP | (UV if self.user_verifying else 0) | extra])

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}
        ).encode()

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        """navigator.credentials.create(): a new key pair for this RP and user."""
        assert options["rp"]["id"] == self.rp_id
        self.user_handle = unb64url(options["user"]["id"])
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        aaguid = uuid.UUID(self.vendor.aaguid).bytes if self.vendor else bytes(16)
        attested = (
            aaguid
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self._cose_key()
        )
        auth_data = rp_hash + self._flags(AT) + struct.pack(">I", self.sign_count) + attested
        client_data = self._client_data("webauthn.create", options["challenge"])
        if self.vendor is None:
            statement: dict[str, Any] = {"fmt": "none", "attStmt": {}}
        else:
            key, cert = self.vendor.attestation()
            signed = auth_data + hashlib.sha256(client_data).digest()
            signature = key.sign(signed, ec.ECDSA(hashes.SHA256()))
            statement = {"fmt": "packed", "attStmt": {"alg": -7, "sig": signature, "x5c": [cert]}}
        attestation = cbor2.dumps({**statement, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["usb"],
            },
        }

    def get(self, options: dict[str, Any], *, counter_step: int = 1) -> dict[str, Any]:
        """navigator.credentials.get(): sign the challenge with the registered key."""
        assert options["rpId"] == self.rp_id
        self.sign_count += counter_step
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        auth_data = rp_hash + self._flags() + struct.pack(">I", self.sign_count)
        client_data = self._client_data("webauthn.get", options["challenge"])
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(self.user_handle),
            },
        }
