"""The card interface, kept the same way by the virtual card and by real PKCS#11 tokens."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cis_card.base import (
    Card,
    CardLocked,
    CardNotInitialised,
    CardRemoved,
    PasscodePolicy,
    PasscodeRejected,
    WrongPasscode,
    WrongSoPin,
)
from cis_card.csr import build_csr
from cis_card.spec import open_card, parse_spec
from cis_card.virtual import VirtualCard
from cis_wire.signatures import verify_signature

from .tokens import TRANSPORT_SO_PIN

SO_PIN = "73920184"


def issued(card: Card, passcode: str = "1234") -> Card:
    card.initialise(so_pin=TRANSPORT_SO_PIN, new_so_pin=SO_PIN, passcode=passcode)
    return card


def self_signed(public_der: bytes) -> bytes:
    """A stand-in certificate for the card's public key (the CA's own tests cover real ones)."""
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    public = serialization.load_der_public_key(public_der)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Holder")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=730))
        .sign(issuer_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_a_blank_card_refuses_the_passcode_until_it_is_issued(blank_card: Card) -> None:
    assert not blank_card.is_initialised()
    with pytest.raises(CardNotInitialised):
        blank_card.verify_passcode("1234")
    issued(blank_card)
    assert blank_card.is_initialised()
    blank_card.verify_passcode("1234")


def test_initialising_needs_the_administrator_pin(blank_card: Card) -> None:
    with pytest.raises(WrongSoPin):
        blank_card.initialise(so_pin="00000000", new_so_pin=SO_PIN, passcode="1234")
    assert not blank_card.is_initialised()


def test_three_wrong_passcodes_lock_the_card_and_the_right_one_no_longer_works(
    blank_card: Card,
) -> None:
    issued(blank_card)
    with pytest.raises(WrongPasscode) as first:
        blank_card.verify_passcode("9999")
    assert first.value.tries_left == 2
    assert "2 tries left" in str(first.value)
    with pytest.raises(WrongPasscode) as second:
        blank_card.verify_passcode("9999")
    assert second.value.tries_left == 1
    with pytest.raises(CardLocked, match="now locked"):
        blank_card.verify_passcode("9999")
    assert blank_card.is_locked()
    assert blank_card.tries_left() == 0
    with pytest.raises(CardLocked):
        blank_card.verify_passcode("1234")


def test_a_right_passcode_resets_the_count(blank_card: Card) -> None:
    issued(blank_card)
    for _ in range(2):
        with pytest.raises(WrongPasscode):
            blank_card.verify_passcode("9999")
    blank_card.verify_passcode("1234")
    assert blank_card.tries_left() == 3


def test_unlock_with_the_administrator_pin_sets_a_new_passcode(blank_card: Card) -> None:
    issued(blank_card)
    with blank_card.session("1234") as session:
        key_id, public = session.generate_key()
    for _ in range(3):
        with pytest.raises((WrongPasscode, CardLocked)):
            blank_card.verify_passcode("0000")
    with pytest.raises(WrongSoPin):
        blank_card.unlock(so_pin="11111111", new_passcode="5678")
    assert blank_card.is_locked()
    blank_card.unlock(so_pin=SO_PIN, new_passcode="5678")
    assert not blank_card.is_locked()
    with pytest.raises(WrongPasscode):
        blank_card.verify_passcode("1234")
    with blank_card.session("5678") as session:
        # The keys survive an unlock: the card goes on working with its certificate.
        signature = session.sign(key_id, b"still mine")
    assert verify_signature(public, signature, b"still mine")


def test_rotating_the_administrator_pin(blank_card: Card) -> None:
    issued(blank_card)
    blank_card.set_so_pin(current=SO_PIN, new="55554444")
    with pytest.raises(WrongSoPin):
        blank_card.unlock(so_pin=SO_PIN, new_passcode="5678")
    blank_card.unlock(so_pin="55554444", new_passcode="5678")
    blank_card.verify_passcode("5678")


def test_change_passcode_needs_the_current_one(blank_card: Card) -> None:
    issued(blank_card)
    with pytest.raises(WrongPasscode):
        blank_card.change_passcode("0000", "2468")
    blank_card.change_passcode("1234", "2468")
    blank_card.verify_passcode("2468")
    with pytest.raises(WrongPasscode):
        blank_card.verify_passcode("1234")


def test_keys_are_made_on_the_card_and_sign_a_csr_the_card_proves(blank_card: Card) -> None:
    issued(blank_card)
    with blank_card.session("1234") as session:
        key_id, public = session.generate_key()
        assert session.key_ids() == [key_id]
        pem = build_csr(
            public_key_der=public,
            common_name="555000000001",
            sign=lambda data: session.sign(key_id, data),
        )
    request = x509.load_pem_x509_csr(pem)
    assert request.is_signature_valid
    assert request.subject.rfc4514_string() == "CN=555000000001"
    assert (
        request.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == public
    )
    assert isinstance(request.public_key(), ec.EllipticCurvePublicKey)


def test_certificates_are_written_beside_their_key_and_read_without_the_passcode(
    blank_card: Card,
) -> None:
    issued(blank_card)
    with blank_card.session("1234") as session:
        key_id, public = session.generate_key()
        other_id, other_public = session.generate_key()
        der = self_signed(public)
        with pytest.raises(Exception, match="not for a key on this card"):
            session.write_certificate(other_id, der)
        session.write_certificate(key_id, der)
    certs = blank_card.certificates()
    assert [c.key_id for c in certs] == [key_id]
    assert certs[0].der == der
    with blank_card.session("1234") as session:
        session.delete_key(key_id)
        assert session.key_ids() == [other_id]
    assert blank_card.certificates() == []


def test_wipe_clears_the_card_for_reuse(blank_card: Card) -> None:
    issued(blank_card)
    with blank_card.session("1234") as session:
        key_id, public = session.generate_key()
        session.write_certificate(key_id, self_signed(public))
    blank_card.wipe(so_pin=SO_PIN, transport_so_pin=TRANSPORT_SO_PIN)
    assert not blank_card.is_initialised()
    assert blank_card.certificates() == []
    issued(blank_card, passcode="8642")
    with blank_card.session("8642") as session:
        assert session.key_ids() == []


def test_the_serial_is_stable(blank_card: Card) -> None:
    first = blank_card.serial()
    issued(blank_card)
    assert blank_card.serial() == first
    assert first


def test_passcode_policy() -> None:
    policy = PasscodePolicy(min_length=4, max_length=8)
    assert policy.check("1234") == "1234"
    for bad in ("123", "123456789", "12 34", ""):
        with pytest.raises(PasscodeRejected):
            policy.check(bad)


def test_spec_parsing() -> None:
    assert parse_spec("virtual:cards/x.json") == ("virtual", "cards/x.json", "")
    assert parse_spec("pkcs11:/usr/lib/softhsm/libsofthsm2.so:card one") == (
        "pkcs11",
        "/usr/lib/softhsm/libsofthsm2.so",
        "card one",
    )
    for bad in ("virtual:", "pkcs11:/lib.so", "smart:x", ""):
        with pytest.raises(Exception, match="not a card SPEC"):
            parse_spec(bad)


# -- the virtual card's own promises --------------------------------------------------------------


def test_virtual_card_stores_no_passcode_and_no_plain_key(tmp_path: Path) -> None:
    card = VirtualCard.create_blank(tmp_path / "c.json", transport_so_pin=TRANSPORT_SO_PIN)
    card.initialise(so_pin=TRANSPORT_SO_PIN, new_so_pin=SO_PIN, passcode="246813")
    with card.session("246813") as session:
        session.generate_key()
    text = (tmp_path / "c.json").read_text()
    assert "246813" not in text
    assert SO_PIN not in text
    assert "PRIVATE KEY" not in text
    state = json.loads(text)
    assert state["kdf"]["n"] >= 2**14, "the default passcode hash must be slow"
    (entry,) = state["keys"].values()
    assert set(entry) == {"private", "public", "created"}


def test_a_virtual_card_pulled_out_mid_write_is_left_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = VirtualCard.create_blank(tmp_path / "c.json", transport_so_pin=TRANSPORT_SO_PIN)
    card.initialise(so_pin=TRANSPORT_SO_PIN, new_so_pin=SO_PIN, passcode="1234")
    before = (tmp_path / "c.json").read_bytes()

    def pulled(src: object, dst: object) -> None:
        raise OSError("card removed")

    real_replace = os.replace
    monkeypatch.setattr(os, "replace", pulled)
    with pytest.raises(OSError, match="card removed"):
        card.set_so_pin(current=SO_PIN, new="99998888")
    monkeypatch.setattr(os, "replace", real_replace)
    # No temporary file left behind, the card unchanged and still working.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]
    assert (tmp_path / "c.json").read_bytes() != b""
    card.unlock(so_pin=SO_PIN, new_passcode="4321")
    assert json.loads(before)["serial"] == card.serial()


def test_a_virtual_card_that_vanishes_reports_removal(tmp_path: Path) -> None:
    card = VirtualCard.create_blank(tmp_path / "c.json", transport_so_pin=TRANSPORT_SO_PIN)
    (tmp_path / "c.json").unlink()
    with pytest.raises(CardRemoved):
        card.serial()


def test_a_wrong_try_is_counted_before_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pulling the card during the check cannot give back the try (as on a chip)."""
    card = VirtualCard.create_blank(tmp_path / "c.json", transport_so_pin=TRANSPORT_SO_PIN)
    card.initialise(so_pin=TRANSPORT_SO_PIN, new_so_pin=SO_PIN, passcode="1234")
    from cis_card import virtual

    def pulled(*args: object, **kwargs: object) -> tuple[bytes, bytes]:
        raise CardRemoved("pulled")

    monkeypatch.setattr(virtual, "_derive", pulled)
    with pytest.raises(CardRemoved):
        card.verify_passcode("9999")
    assert card.tries_left() == 2


def test_pkcs11_keys_are_sensitive_and_never_leave_the_token(softhsm: None) -> None:
    import pkcs11

    from .tokens import SOFTHSM_MODULE, blank_token

    label = blank_token()
    card = open_card(f"pkcs11:{SOFTHSM_MODULE}:{label}")
    issued(card)
    with card.session("1234") as session:
        key_id, _ = session.generate_key()
    token = pkcs11.lib(SOFTHSM_MODULE).get_token(token_label=label)
    with token.open(user_pin="1234") as raw:
        key = raw.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, id=bytes.fromhex(key_id))
        assert key[pkcs11.Attribute.SENSITIVE] is True
        assert key[pkcs11.Attribute.EXTRACTABLE] is False
        assert key[pkcs11.Attribute.NEVER_EXTRACTABLE] is True
        assert key[pkcs11.Attribute.LOCAL] is True, "generated on the token, not imported"
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            key[pkcs11.Attribute.VALUE]


def test_a_real_cards_own_lock_is_read_from_the_token(
    softhsm: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the SoftHSM emulation, the token's CKR_PIN_LOCKED and flags are what count."""
    import pkcs11
    from pkcs11 import exceptions as p11e

    from cis_card.pkcs11card import Pkcs11Card

    from .tokens import SOFTHSM_MODULE, blank_token

    label = blank_token()
    card = Pkcs11Card(SOFTHSM_MODULE, label, emulate_retry_counter=False)
    issued(card)
    assert card.tries_left() is None  # a card says nothing until the final try
    with pytest.raises(WrongPasscode) as wrong:
        card.verify_passcode("9999")
    assert wrong.value.tries_left is None
    assert str(wrong.value) == "Wrong passcode."

    def locked_token(*args: object, **kwargs: object) -> object:
        if "user_pin" in kwargs:
            raise p11e.PinLocked()
        return real_open(*args, **kwargs)

    real_open = card.token.open
    monkeypatch.setattr(card, "token", _TokenProxy(card.token, locked_token))
    with pytest.raises(CardLocked):
        card.verify_passcode("1234")
    flags = pkcs11.TokenFlag.USER_PIN_LOCKED | pkcs11.TokenFlag.TOKEN_INITIALIZED
    monkeypatch.setattr(card, "_flags", lambda: flags)
    assert card.is_locked()
    assert card.tries_left() == 0


class _TokenProxy:
    def __init__(self, token: object, opener: object) -> None:
        self._token = token
        self.open = opener

    def __getattr__(self, name: str) -> object:
        return getattr(self._token, name)
