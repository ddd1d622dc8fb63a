"""The wire protocol: the bytes a card signs or MACs, which server and agent must build alike."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

from cis_wire import messages
from cis_wire.signatures import verify_signature


def _spki(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_each_message_is_its_context_then_nul_separated_fields() -> None:
    # Pinned byte for byte: a change here breaks every agent in the field.
    assert (
        messages.login_message(challenge="c1", chip_serial="CHIP")
        == b"CIS agent sign-in v1\x00c1\x00CHIP"
    )
    assert (
        messages.signin_message(challenge_id="42", nonce="n0", chip_serial="CHIP")
        == b"CIS-SIGNIN-v1\x0042\x00n0\x00CHIP"
    )
    assert (
        messages.lock_report_message(challenge="c1", chip_serial="CHIP")
        == b"CIS lock report v1\x00c1\x00CHIP"
    )
    assert messages.renewal_message(challenge="c1", chip_serial="CHIP", csr_der=b"request") == (
        b"CIS certificate renewal v1\x00c1\x00CHIP\x00" + hashlib.sha256(b"request").digest()
    )


def test_a_signature_for_one_purpose_never_verifies_for_another() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    login = messages.login_message(challenge="c1", chip_serial="CHIP")
    lock = messages.lock_report_message(challenge="c1", chip_serial="CHIP")
    signature = key.sign(login, ec.ECDSA(hashes.SHA256()))
    assert verify_signature(_spki(key), signature, login)
    assert not verify_signature(_spki(key), signature, lock)
    other = ec.generate_private_key(ec.SECP256R1())
    assert not verify_signature(_spki(other), signature, login)


def test_only_an_ec_card_key_verifies() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    message = messages.login_message(challenge="c1", chip_serial="CHIP")
    assert not verify_signature(_spki(key), key.sign(message, PKCS1v15(), hashes.SHA256()), message)


def test_the_lock_report_mac_is_hmac_sha256() -> None:
    message = messages.lock_report_message(challenge="c1", chip_serial="CHIP")
    assert (
        messages.lock_report_mac(b"k" * 32, message)
        == hmac.new(b"k" * 32, message, hashlib.sha256).digest()
    )
