"""The OCSP responder, modelled on RFC 6960 / RFC 5019 / RFC 9654 conformance points."""

from __future__ import annotations

import base64
import datetime as dt
import urllib.parse

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.test import Client

from cis.core import clock
from cis.pki import authority
from cis.pki import ocsp as responder
from cis.pki.hierarchy import Hierarchy
from cis.pki.models import Certificate, OcspResponse
from cis.pki.ocsp_presign import presign
from cis.pki.services import certificate_issue, certificate_revoke

from .conftest import Directory, make_csr

# RFC 5019: OCSP clients name certificates by SHA-1 CertIDs; no collision resistance needed.
CERT_ID_SHA1 = hashes.SHA1()  # noqa: S303

pytestmark = pytest.mark.django_db


def _cert(row: Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(bytes(row.der))


def _request(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    *,
    nonce: bytes | None = None,
    algorithm: hashes.HashAlgorithm | None = None,
) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, algorithm or CERT_ID_SHA1)
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _post(client: Client, body: bytes) -> ocsp.OCSPResponse:
    response = client.post("/pki/ocsp", body, content_type="application/ocsp-request")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(response.content)


@pytest.fixture
def issued(ca: Hierarchy, people: Directory) -> Certificate:
    return certificate_issue(actor=people.agent, person=people.holder, csr_pem=make_csr())


def _verify_signed_by_delegate(resp: ocsp.OCSPResponse, ca: Hierarchy) -> x509.Certificate:
    assert resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    (signer,) = resp.certificates
    signer.verify_directly_issued_by(ca.issuing.certificate)
    eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.OCSP_SIGNING in eku
    assert signer.extensions.get_extension_for_class(x509.OCSPNoCheck)
    public = signer.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert resp.signature_hash_algorithm is not None
    public.verify(resp.signature, resp.tbs_response_bytes, ec.ECDSA(resp.signature_hash_algorithm))
    assert (
        resp.responder_key_hash
        == signer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    )
    return signer


def test_good(client: Client, ca: Hierarchy, issued: Certificate) -> None:
    resp = _post(client, _request(_cert(issued), ca.issuing.certificate))
    _verify_signed_by_delegate(resp, ca)
    assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert resp.serial_number == int(issued.serial_hex, 16)
    assert resp.next_update_utc is not None
    validity = resp.next_update_utc - resp.this_update_utc
    assert dt.timedelta(hours=8) <= validity <= dt.timedelta(days=10)


def test_revoked_with_time_and_reason_at_once(
    client: Client, ca: Hierarchy, people: Directory, issued: Certificate
) -> None:
    body = _request(_cert(issued), ca.issuing.certificate)
    assert _post(client, body).certificate_status == ocsp.OCSPCertStatus.GOOD
    revoked = certificate_revoke(actor=people.agent, certificate=issued, reason="keyCompromise")
    resp = _post(client, body)  # the cached "good" must not be served any more
    assert resp.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert resp.revocation_time_utc == revoked.revoked_at
    assert resp.revocation_reason == x509.ReasonFlags.key_compromise


def test_revoked_unspecified_has_no_reason(
    client: Client, ca: Hierarchy, people: Directory, issued: Certificate
) -> None:
    certificate_revoke(actor=people.agent, certificate=issued, reason="unspecified")
    resp = _post(client, _request(_cert(issued), ca.issuing.certificate))
    assert resp.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert resp.revocation_reason is None


def test_never_issued_is_unknown_never_good(client: Client, ca: Hierarchy) -> None:
    issuer = ca.issuing.certificate
    name_hash, key_hash = authority.issuing().cert_id_hashes(CERT_ID_SHA1)
    body = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(name_hash, key_hash, 0x1234567890ABCDEF, CERT_ID_SHA1)
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    resp = _post(client, body)
    _verify_signed_by_delegate(resp, ca)
    assert resp.certificate_status == ocsp.OCSPCertStatus.UNKNOWN
    assert resp.issuer_key_hash == key_hash
    assert issuer.subject == ca.issuing.certificate.subject


def test_unknown_becomes_good_once_issued(
    client: Client, ca: Hierarchy, people: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cis.pki.services.new_serial", lambda: 0x7777777777777777777777)
    name_hash, key_hash = authority.issuing().cert_id_hashes(CERT_ID_SHA1)
    body = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(name_hash, key_hash, 0x7777777777777777777777, CERT_ID_SHA1)
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    assert _post(client, body).certificate_status == ocsp.OCSPCertStatus.UNKNOWN
    certificate_issue(actor=people.agent, person=people.holder, csr_pem=make_csr())
    assert _post(client, body).certificate_status == ocsp.OCSPCertStatus.GOOD


def test_nonce_is_echoed_and_signed_fresh(
    client: Client, ca: Hierarchy, issued: Certificate
) -> None:
    plain = _request(_cert(issued), ca.issuing.certificate)
    first = responder.respond(plain)
    assert responder.respond(plain).cached
    for nonce in (b"\x01", b"n" * 16, b"z" * 32):
        resp = _post(client, _request(_cert(issued), ca.issuing.certificate, nonce=nonce))
        echoed = resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        assert echoed == nonce
        assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert not responder.respond(
        _request(_cert(issued), ca.issuing.certificate, nonce=b"x" * 20)
    ).cached
    assert (
        first.der
        != responder.respond(_request(_cert(issued), ca.issuing.certificate, nonce=b"q" * 20)).der
    )


def test_nonce_longer_than_32_octets_is_malformed(
    client: Client, ca: Hierarchy, issued: Certificate
) -> None:
    resp = _post(client, _request(_cert(issued), ca.issuing.certificate, nonce=b"x" * 33))
    assert resp.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_cached_responses_are_reused_until_half_their_validity(
    ca: Hierarchy, issued: Certificate
) -> None:
    body = _request(_cert(issued), ca.issuing.certificate)
    first = responder.respond(body)
    assert not first.cached
    second = responder.respond(body)
    assert second.cached
    assert second.der == first.der
    clock.travel(dt.timedelta(hours=12))
    third = responder.respond(body)
    assert not third.cached
    assert third.this_update is not None and first.this_update is not None
    assert third.this_update - first.this_update >= dt.timedelta(hours=12)


def test_sha256_cert_ids(client: Client, ca: Hierarchy, issued: Certificate) -> None:
    resp = _post(client, _request(_cert(issued), ca.issuing.certificate, algorithm=hashes.SHA256()))
    assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert isinstance(resp.hash_algorithm, hashes.SHA256)


def test_another_issuer_is_unauthorized(client: Client, ca: Hierarchy, issued: Certificate) -> None:
    # Ask about our certificate as if the root had issued it: not a CertID this CA answers for.
    resp = _post(client, _request(_cert(issued), ca.root.certificate))
    assert resp.response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED


@pytest.mark.parametrize("body", [b"", b"not der", b"\x30\x03\x02\x01\x01"])
def test_malformed_requests(client: Client, ca: Hierarchy, body: bytes) -> None:
    assert _post(client, body).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_get_with_base64_in_the_path(client: Client, ca: Hierarchy, issued: Certificate) -> None:
    body = _request(_cert(issued), ca.issuing.certificate)
    encoded = urllib.parse.quote(base64.b64encode(body).decode(), safe="")
    response = client.get(f"/pki/ocsp/{encoded}")
    assert response.status_code == 200
    assert ocsp.load_der_ocsp_response(response.content).certificate_status == (
        ocsp.OCSPCertStatus.GOOD
    )
    assert "max-age=" in response["Cache-Control"]
    assert response["Last-Modified"]
    assert client.get("/pki/ocsp/%%%").status_code in (200, 400)
    bad = ocsp.load_der_ocsp_response(client.get("/pki/ocsp/bm90LWFuLW9jc3AtcmVxdWVzdA==").content)
    assert bad.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_nonce_answers_are_not_cacheable_over_http(
    client: Client, ca: Hierarchy, issued: Certificate
) -> None:
    body = _request(_cert(issued), ca.issuing.certificate, nonce=b"n" * 16)
    encoded = urllib.parse.quote(base64.b64encode(body).decode(), safe="")
    assert client.get(f"/pki/ocsp/{encoded}")["Cache-Control"] == "no-store"


def test_responder_certificate_rotates_before_it_expires(
    client: Client, ca: Hierarchy, issued: Certificate
) -> None:
    first = authority.ocsp_signer(authority.issuing())
    clock.travel(dt.timedelta(days=19))
    assert authority.ocsp_signer(authority.issuing()).serial_hex == first.serial_hex
    clock.travel(dt.timedelta(days=2))  # 9 days left of 30: renewed (a third of its life)
    second = authority.ocsp_signer(authority.issuing())
    assert second.serial_hex != first.serial_hex
    resp = responder.respond(_request(_cert(issued), ca.issuing.certificate))
    (signer,) = ocsp.load_der_ocsp_response(resp.der).certificates
    assert signer.serial_number == int(second.serial_hex, 16)
    assert resp.next_update is not None and resp.next_update <= second.not_after


def test_no_ca_means_try_later(client: Client, db: None) -> None:
    body = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(b"\x01" * 20, b"\x02" * 20, 12345, CERT_ID_SHA1)
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    assert _post(client, body).response_status == ocsp.OCSPResponseStatus.TRY_LATER


def test_answers_signed_ahead_are_served_without_signing(
    ca: Hierarchy, issued: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert presign() >= 1
    assert presign() == 0  # nothing due: each is signed once per refresh
    stored = OcspResponse.objects.get(serial_hex=issued.serial_hex, hash_name="sha1")

    def no_signing(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pre-signed answer was signed again")

    monkeypatch.setattr(responder, "sign_response", no_signing)
    answer = responder.respond(_request(_cert(issued), ca.issuing.certificate))
    assert answer.cached
    assert answer.der == bytes(stored.der)
    assert ocsp.load_der_ocsp_response(answer.der).certificate_status == ocsp.OCSPCertStatus.GOOD


def test_answers_are_signed_again_ahead_of_their_refresh(
    ca: Hierarchy, issued: Certificate
) -> None:
    presign()
    first = OcspResponse.objects.get(serial_hex=issued.serial_hex)
    clock.travel(dt.timedelta(hours=9))  # served for 12 hours; renewed in the last quarter
    assert presign() >= 1
    renewed = OcspResponse.objects.get(serial_hex=issued.serial_hex)
    assert renewed.this_update > first.this_update
    assert renewed.refresh_at > clock.now() + dt.timedelta(hours=11)


def test_a_revocation_is_answered_revoked_at_once_despite_the_presigned_good(
    client: Client, ca: Hierarchy, people: Directory, issued: Certificate
) -> None:
    presign()
    body = _request(_cert(issued), ca.issuing.certificate)
    assert _post(client, body).certificate_status == ocsp.OCSPCertStatus.GOOD
    certificate_revoke(actor=people.agent, certificate=issued, reason="keyCompromise")
    assert _post(client, body).certificate_status == ocsp.OCSPCertStatus.REVOKED
    # The revoked answer is stored for every worker, and the next job run leaves it be.
    assert responder.respond(body).cached
    assert presign() == 0
