"""Both key stores, for real: encrypted files under the data directory, and a SoftHSM2 token."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from django.db import connection

from cis.core import clock
from cis.core.errors import InvalidState
from cis.pki import authority, crl, hierarchy
from cis.pki import ocsp as responder
from cis.pki.keystore import FileKeyStore, KeyAlgorithm, Pkcs11KeyStore, key_store
from cis.pki.models import CertificateAuthority
from cis.pki.services import certificate_issue, certificate_revoke

from . import hsm
from .conftest import Directory, make_csr

# RFC 5019: OCSP clients name certificates by SHA-1 CertIDs; no collision resistance needed.
CERT_ID_SHA1 = hashes.SHA1()  # noqa: S303

pytestmark = pytest.mark.django_db


def _ocsp_request(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    return (
        ocsp.OCSPRequestBuilder()
        .add_certificate(cert, issuer, CERT_ID_SHA1)
        .build()
        .public_bytes(serialization.Encoding.DER)
    )


def _no_key_material_in_database() -> None:
    """Scan every table's text and bytes for anything that looks like a private key."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    blob = (
                        bytes(value)
                        if isinstance(value, bytes | memoryview)
                        else str(value).encode()
                    )
                    assert b"PRIVATE KEY" not in blob, table


# --- the encrypted file store -------------------------------------------------------------


def test_file_keys_are_encrypted_and_private(ca: hierarchy.Hierarchy, settings: Any) -> None:
    directory = Path(settings.DATA_DIR) / "ca"
    files = sorted(directory.glob("*.key.pem"))
    # Root, issuing, OCSP responder, and the audit trail's checkpoint and MAC keys (made by the
    # first audit events).
    assert len(files) == 5
    assert {p.name.split("-")[1] for p in files} == {"root", "issuing", "ocsp", "audit"}
    assert (directory / "cis-audit-mac-k1.mac.key.pem") in files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        with pytest.raises(TypeError):  # needs the passphrase
            serialization.load_pem_private_key(path.read_bytes(), None)
    passphrase = directory / "key-passphrase"
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    key = serialization.load_pem_private_key(
        files[-1].read_bytes(), passphrase.read_text().strip().encode()
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    _no_key_material_in_database()


def test_passphrase_from_the_environment(settings: Any, tmp_path: Path) -> None:
    settings.CIS_CA_KEY_PASSPHRASE = "correct horse battery staple"
    store = FileKeyStore.from_settings()
    store.generate(label="env-key", algorithm=KeyAlgorithm.EC_P256)
    assert not (store.directory / "key-passphrase").exists()
    raw = (store.directory / "env-key.key.pem").read_bytes()
    assert serialization.load_pem_private_key(raw, b"correct horse battery staple")
    wrong = FileKeyStore(store.directory, b"wrong")
    with pytest.raises(InvalidState, match="cannot be decrypted"):
        wrong.load("env-key")


def test_file_store_refuses_to_overwrite_and_reports_missing_keys(settings: Any) -> None:
    store = FileKeyStore.from_settings()
    store.generate(label="once", algorithm=KeyAlgorithm.EC_P256)
    with pytest.raises(FileExistsError):
        store.generate(label="once", algorithm=KeyAlgorithm.EC_P256)
    with pytest.raises(InvalidState, match="missing"):
        store.load("never-made")
    with pytest.raises(InvalidState, match="usable key label"):
        store.load("../../etc/passwd")


def test_a_lost_key_file_is_reported_not_replaced(ca: hierarchy.Hierarchy, settings: Any) -> None:
    authority._loaded.clear()
    for path in (Path(settings.DATA_DIR) / "ca").glob("cis-issuing-*.key.pem"):
        path.unlink()
    with pytest.raises(InvalidState, match="missing"):
        hierarchy.ca_init()
    assert CertificateAuthority.objects.filter(role="issuing").count() == 1


def test_two_data_directories_never_share_keys(
    settings: Any, tmp_path: Path, people: Directory
) -> None:
    first = hierarchy.ca_init()
    first_dir = Path(settings.DATA_DIR) / "ca"
    settings.DATA_DIR = tmp_path / "other"
    other_store = FileKeyStore.from_settings()
    assert other_store.directory != first_dir
    assert not other_store.exists(first.issuing.key_label)


@pytest.mark.parametrize("algorithm", ["ec-p384", "rsa-3072"])
def test_ca_algorithm_is_a_setting(settings: Any, people: Directory, algorithm: str) -> None:
    settings.CIS_CA_KEY_ALGORITHM = algorithm
    ca = hierarchy.ca_init()
    assert ca.root.key_algorithm == algorithm
    root = ca.root.certificate
    if algorithm == "rsa-3072":
        assert isinstance(root.public_key(), rsa.RSAPublicKey)
        assert root.public_key().key_size == 3072
        assert isinstance(root.signature_hash_algorithm, hashes.SHA256)
    else:
        assert isinstance(root.signature_hash_algorithm, hashes.SHA384)
    cert = certificate_issue(actor=people.agent, person=people.holder, csr_pem=make_csr())
    x509.load_der_x509_certificate(bytes(cert.der)).verify_directly_issued_by(
        ca.issuing.certificate
    )


def test_unknown_algorithm_or_store_is_refused(settings: Any, db: None) -> None:
    from cis.core.errors import ValidationFailed  # noqa: PLC0415

    with pytest.raises(ValidationFailed, match="ec-p256"):
        hierarchy.ca_init(algorithm="dsa-1024")
    with pytest.raises(InvalidState, match="'file' or 'pkcs11'"):
        key_store("vault")


# --- the PKCS#11 store, against SoftHSM2 ---------------------------------------------------


def test_token_keys_are_sensitive_and_never_extractable(hsm_settings: hsm.Token) -> None:
    store = Pkcs11KeyStore.from_settings()
    store.generate(label="probe", algorithm=KeyAlgorithm.EC_P256)
    flags = store.key_attributes("probe")
    assert flags == {
        "sensitive": True,
        "extractable": False,
        "always_sensitive": True,
        "never_extractable": True,
        "token": True,
    }
    private = store.private_key_object("probe")
    with pytest.raises(pkcs11.exceptions.AttributeSensitive):
        private[pkcs11.Attribute.VALUE]
    handle = store.load("probe")
    with pytest.raises(NotImplementedError):
        handle.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    store.destroy("probe")
    assert not store.exists("probe")


@pytest.mark.parametrize("algorithm", ["ec-p256", "ec-p384", "rsa-2048"])
def test_token_keys_sign_verifiably(hsm_settings: hsm.Token, algorithm: str) -> None:
    store = Pkcs11KeyStore.from_settings()
    key = store.generate(label=f"sig-{algorithm}", algorithm=KeyAlgorithm(algorithm))
    data = b"to be signed"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(data, ec.ECDSA(hashes.SHA256()))
        key.public_key().verify(signature, data, ec.ECDSA(hashes.SHA256()))
    else:
        from cryptography.hazmat.primitives.asymmetric import padding  # noqa: PLC0415

        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        key.public_key().verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


def test_whole_ca_on_the_token(hsm_settings: hsm.Token, people: Directory, settings: Any) -> None:
    """Root, issuing CA and responder keys made on the token; everything signed there."""
    ca = hierarchy.ca_init()
    assert {ca.root.key_store, ca.issuing.key_store, ca.ocsp.key_store} == {"pkcs11"}
    assert not list((Path(settings.DATA_DIR) / "ca").glob("*.key.pem"))
    store = Pkcs11KeyStore.from_settings()
    for row in (ca.root, ca.issuing, ca.ocsp):
        assert store.key_attributes(row.key_label)["extractable"] is False
        assert store.key_attributes(row.key_label)["sensitive"] is True
    root, issuing = ca.root.certificate, ca.issuing.certificate
    root.verify_directly_issued_by(root)
    issuing.verify_directly_issued_by(root)

    cert = certificate_issue(actor=people.agent, person=people.holder, csr_pem=make_csr())
    leaf = x509.load_der_x509_certificate(bytes(cert.der))
    leaf.verify_directly_issued_by(issuing)

    certificate_revoke(actor=people.agent, certificate=cert, reason="keyCompromise")
    listed = x509.load_der_x509_crl(crl.current_crl().der)
    assert listed.is_signature_valid(issuing.public_key())
    assert listed.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None

    answer = responder.respond(_ocsp_request(leaf, issuing))
    parsed = ocsp.load_der_ocsp_response(answer.der)
    assert parsed.certificate_status == ocsp.OCSPCertStatus.REVOKED
    (signer,) = parsed.certificates
    public = signer.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert parsed.signature_hash_algorithm is not None
    public.verify(
        parsed.signature, parsed.tbs_response_bytes, ec.ECDSA(parsed.signature_hash_algorithm)
    )
    _no_key_material_in_database()


def test_rotated_responder_keys_are_destroyed_on_the_token(
    hsm_settings: hsm.Token, people: Directory
) -> None:
    ca = hierarchy.ca_init()
    store = Pkcs11KeyStore.from_settings()
    old_label = ca.ocsp.key_label
    authority.rotate_ocsp_signer(authority.issuing(), force=True)
    # Kept for a grace period, so processes still holding it can finish; then destroyed.
    crl.crl_publish_if_due()
    assert store.exists(old_label)
    clock.travel(dt.timedelta(hours=2))
    crl.crl_publish_if_due()
    assert not store.exists(old_label)
    assert store.exists(CertificateAuthority.objects.get(role="ocsp", active=True).key_label)


def test_wrong_pin_is_a_clear_error(token: hsm.Token, settings: Any) -> None:
    authority._loaded.clear()
    store = Pkcs11KeyStore(module=token.module, token_label=token.label, pin="000000")
    with pytest.raises(InvalidState, match="Cannot open the PKCS#11 token"):
        store.generate(label="x", algorithm=KeyAlgorithm.EC_P256)
    with pytest.raises(InvalidState, match="CIS_CA_PKCS11_TOKEN_LABEL"):
        Pkcs11KeyStore(module=token.module, token_label="", pin="")


def test_audit_keys_on_the_token(hsm_settings: hsm.Token, settings: Any) -> None:
    """With the CA on a token, the audit trail's HMAC and checkpoint keys are made there too:
    a secret key the token never reveals, used with CKM_SHA256_HMAC."""
    from django.db import transaction  # noqa: PLC0415

    from cis.audit import checkpoints, keys  # noqa: PLC0415
    from cis.audit.trail import record  # noqa: PLC0415
    from cis.audit.verify import verify  # noqa: PLC0415
    from cis.authz.policy import CONSOLE  # noqa: PLC0415

    keys.forget()
    with transaction.atomic():
        record(actor=CONSOLE, rule="t", action="test.a", target_type="t", target_ref="1")
    checkpoints.write()
    store = Pkcs11KeyStore.from_settings()
    assert store.mac_key_exists("cis-audit-mac-k1")
    secret = store._secret_key("cis-audit-mac-k1")
    assert secret[pkcs11.Attribute.SENSITIVE] and not secret[pkcs11.Attribute.EXTRACTABLE]
    with pytest.raises(pkcs11.exceptions.AttributeSensitive):
        secret[pkcs11.Attribute.VALUE]
    one = store.mac("cis-audit-mac-k1", b"data")
    assert len(one) == 32 and one == store.mac("cis-audit-mac-k1", b"data")
    assert one != store.mac("cis-audit-mac-k1", b"other")
    assert not list((Path(settings.DATA_DIR) / "ca").glob("*.key.pem"))
    assert verify().intact
    keys.forget()
