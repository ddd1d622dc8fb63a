"""CA keys on a PKCS#11 token (an HSM, or SoftHSM2 in tests): generated there, never out."""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

import pkcs11
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric.utils import (
    NoDigestInfo,
    Prehashed,
    encode_dss_signature,
)
from cryptography.utils import Buffer
from django.conf import settings
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
from pkcs11.util.rsa import encode_rsa_public_key

from cis.core.errors import InvalidState

from .base import KeyAlgorithm, KeyStore, SigningKey

_CURVE_OIDS = {"secp256r1": "1.2.840.10045.3.1.7", "secp384r1": "1.3.132.0.34"}
_RSA_MECHANISMS = {
    "sha256": Mechanism.SHA256_RSA_PKCS,
    "sha384": Mechanism.SHA384_RSA_PKCS,
    "sha512": Mechanism.SHA512_RSA_PKCS,
}
# Private keys are made sensitive and non-extractable: the token refuses to reveal them.
_PRIVATE_TEMPLATE = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.SIGN: True,
    Attribute.DECRYPT: False,
    Attribute.DERIVE: False,
}
_PUBLIC_TEMPLATE = {Attribute.TOKEN: True, Attribute.VERIFY: True}
# HMAC secrets likewise: used on the token to sign (make a MAC) and verify, never read out.
_SECRET_TEMPLATE = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.SIGN: True,
    Attribute.VERIFY: True,
    Attribute.ENCRYPT: False,
    Attribute.DECRYPT: False,
    Attribute.WRAP: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}

# One logged-in session per (module, token, process); a forked worker opens its own.
_sessions: dict[tuple[str, str, int], Any] = {}
_secret_objects: dict[tuple[str, str, int, str], Any] = {}
_sessions_lock = threading.Lock()


class _TokenSigner:
    """Signs digests with one private key object on the token."""

    def __init__(self, store: Pkcs11KeyStore, label: str) -> None:
        self.store = store
        self.label = label
        self._object: tuple[int, Any] | None = None

    def sign(self, data: bytes, mechanism: Mechanism) -> bytes:
        # The object handle belongs to this process's session; look it up once per process.
        if self._object is None or self._object[0] != os.getpid():
            self._object = (os.getpid(), self.store.private_key_object(self.label))
        return bytes(self._object[1].sign(data, mechanism=mechanism))


def _digest(data: bytes, algorithm: hashes.HashAlgorithm | Prehashed) -> bytes:
    if isinstance(algorithm, Prehashed):
        return data
    h = hashes.Hash(algorithm)
    h.update(data)
    return h.finalize()


class Pkcs11EcKey(ec.EllipticCurvePrivateKey):
    """An EC key on the token, usable wherever cryptography wants a private key to sign with."""

    def __init__(self, signer: _TokenSigner, public: ec.EllipticCurvePublicKey) -> None:
        self._signer = signer
        self._public = public

    def sign(self, data: Buffer, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        if not isinstance(signature_algorithm, ec.ECDSA):
            raise NotImplementedError("Only ECDSA signatures are made with token keys.")
        digest = _digest(bytes(data), signature_algorithm.algorithm)
        raw = self._signer.sign(digest, Mechanism.ECDSA)
        half = len(raw) // 2
        r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        return encode_dss_signature(r, s)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        raise NotImplementedError("CA keys only sign.")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        raise NotImplementedError("The private key cannot leave the token.")

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,  # noqa: A002 - the interface's parameter name
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        raise NotImplementedError("The private key cannot leave the token.")

    def __copy__(self) -> Pkcs11EcKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Pkcs11EcKey:
        return self


class Pkcs11RsaKey(rsa.RSAPrivateKey):
    """An RSA key on the token; signs with PKCS#1 v1.5, as X.509 profiles expect."""

    def __init__(self, signer: _TokenSigner, public: rsa.RSAPublicKey) -> None:
        self._signer = signer
        self._public = public

    def sign(
        self,
        data: bytes,
        padding: rsa_padding.AsymmetricPadding,
        algorithm: hashes.HashAlgorithm | Prehashed | NoDigestInfo,
    ) -> bytes:
        if not isinstance(padding, rsa_padding.PKCS1v15) or not isinstance(
            algorithm, hashes.HashAlgorithm
        ):
            raise NotImplementedError("Token RSA keys sign whole messages with PKCS#1 v1.5.")
        mechanism = _RSA_MECHANISMS.get(algorithm.name)
        if mechanism is None:
            raise NotImplementedError(f"No token mechanism for {algorithm.name}.")
        return self._signer.sign(data, mechanism)

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def decrypt(self, ciphertext: bytes, padding: rsa_padding.AsymmetricPadding) -> bytes:
        raise NotImplementedError("CA keys only sign.")

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        raise NotImplementedError("The private key cannot leave the token.")

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,  # noqa: A002 - the interface's parameter name
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        raise NotImplementedError("The private key cannot leave the token.")

    def __copy__(self) -> Pkcs11RsaKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Pkcs11RsaKey:
        return self


class Pkcs11KeyStore(KeyStore):
    kind = "pkcs11"

    def __init__(self, *, module: str, token_label: str, pin: str) -> None:
        if not (module and token_label and pin):
            raise InvalidState(
                "The PKCS#11 key store needs CIS_CA_PKCS11_MODULE, CIS_CA_PKCS11_TOKEN_LABEL "
                "and CIS_CA_PKCS11_PIN."
            )
        self.module = module
        self.token_label = token_label
        self._pin = pin

    @classmethod
    def from_settings(cls) -> Pkcs11KeyStore:
        return cls(
            module=settings.CIS_CA_PKCS11_MODULE,
            token_label=settings.CIS_CA_PKCS11_TOKEN_LABEL,
            pin=settings.CIS_CA_PKCS11_PIN,
        )

    def session(self) -> Any:
        key = (self.module, self.token_label, os.getpid())
        with _sessions_lock:
            session = _sessions.get(key)
            if session is None:
                try:
                    token = pkcs11.lib(self.module).get_token(token_label=self.token_label)
                    session = token.open(rw=True, user_pin=self._pin)
                except (pkcs11.PKCS11Error, RuntimeError) as exc:
                    raise InvalidState(
                        f"Cannot open the PKCS#11 token '{self.token_label}' with "
                        f"{self.module}: {type(exc).__name__}."
                    ) from None
                _sessions[key] = session
            return session

    def _find(self, label: str, object_class: ObjectClass) -> Any:
        found = list(
            self.session().get_objects({Attribute.LABEL: label, Attribute.CLASS: object_class})
        )
        if len(found) != 1:
            raise InvalidState(
                f"The token '{self.token_label}' holds {len(found)} keys labelled '{label}'; "
                "expected exactly one."
            )
        return found[0]

    def private_key_object(self, label: str) -> Any:
        return self._find(label, ObjectClass.PRIVATE_KEY)

    def key_attributes(self, label: str) -> dict[str, bool]:
        """The protection flags the token reports for a private key (for checks and tests)."""
        obj = self.private_key_object(label)
        names = ("SENSITIVE", "EXTRACTABLE", "ALWAYS_SENSITIVE", "NEVER_EXTRACTABLE", "TOKEN")
        return {name.lower(): bool(obj[getattr(Attribute, name)]) for name in names}

    def generate(self, *, label: str, algorithm: KeyAlgorithm) -> SigningKey:
        if self.exists(label):
            raise InvalidState(f"The token already holds a key labelled '{label}'.")
        session = self.session()
        key_id = hashlib.sha256(label.encode()).digest()[:16]
        common: dict[str, Any] = {
            "label": label,
            "id": key_id,
            "store": True,
            "public_template": _PUBLIC_TEMPLATE,
            "private_template": _PRIVATE_TEMPLATE,
        }
        if algorithm.is_ec:
            params = session.create_domain_parameters(
                KeyType.EC,
                {
                    Attribute.EC_PARAMS: encode_named_curve_parameters(
                        _CURVE_OIDS[algorithm.curve.name]
                    )
                },
                local=True,
            )
            params.generate_keypair(**common)
        else:
            session.generate_keypair(KeyType.RSA, algorithm.rsa_bits, **common)
        return self.load(label)

    def load(self, label: str) -> SigningKey:
        public_obj = self._find(label, ObjectClass.PUBLIC_KEY)
        signer = _TokenSigner(self, label)
        if public_obj[Attribute.KEY_TYPE] == KeyType.EC:
            public = serialization.load_der_public_key(encode_ec_public_key(public_obj))
            if not isinstance(public, ec.EllipticCurvePublicKey):
                raise InvalidState(f"Key '{label}' on the token is not an EC key.")
            self.private_key_object(label)
            return Pkcs11EcKey(signer, public)
        public_rsa = serialization.load_der_public_key(encode_rsa_public_key(public_obj))
        if not isinstance(public_rsa, rsa.RSAPublicKey):
            raise InvalidState(f"Key '{label}' on the token is not an RSA key.")
        self.private_key_object(label)
        return Pkcs11RsaKey(signer, public_rsa)

    def exists(self, label: str) -> bool:
        return any(True for _ in self.session().get_objects({Attribute.LABEL: label}))

    def destroy(self, label: str) -> None:
        for obj in list(self.session().get_objects({Attribute.LABEL: label})):
            obj.destroy()

    def describe(self) -> str:
        return f"PKCS#11 token '{self.token_label}' through {self.module}"

    def _secret_key(self, label: str) -> Any:
        """The secret key object, looked up once per process and label."""
        cache_key = (self.module, self.token_label, os.getpid(), label)
        found = _secret_objects.get(cache_key)
        if found is None:
            found = self._find(label, ObjectClass.SECRET_KEY)
            with _sessions_lock:
                _secret_objects[cache_key] = found
        return found

    def generate_mac_key(self, label: str) -> None:
        if self.mac_key_exists(label):
            raise InvalidState(f"The token already holds a secret key labelled '{label}'.")
        self.session().generate_key(
            KeyType.GENERIC_SECRET,
            256,
            label=label,
            id=hashlib.sha256(label.encode()).digest()[:16],
            store=True,
            template=_SECRET_TEMPLATE,
        )

    def mac_key_exists(self, label: str) -> bool:
        query = {Attribute.LABEL: label, Attribute.CLASS: ObjectClass.SECRET_KEY}
        return any(True for _ in self.session().get_objects(query))

    def mac(self, label: str, data: bytes) -> bytes:
        key = self._secret_key(label)
        with _sessions_lock:  # one session per process: operations on it must not interleave
            return bytes(key.sign(data, mechanism=Mechanism.SHA256_HMAC))
