"""Property tests on the PKI's parsers of outside input: CSRs, certificate serials and OCSP
requests (over HTTP). Whatever arrives, the answer is a clear refusal, never a 500."""

from __future__ import annotations

import base64
import urllib.parse

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cis.core.errors import ValidationFailed
from cis.pki.csr import check_request
from cis.pki.hierarchy import Hierarchy
from cis.pki.selectors import normalise_serial

from .conftest import make_csr

VALID_CSR = make_csr()
VALID_CSR_DER = x509.load_pem_x509_csr(VALID_CSR).public_bytes(serialization.Encoding.DER)
DB_EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def damaged(draw: st.DrawFn, original: bytes) -> bytes:
    """The original with some bytes changed, cut short, or with something added."""
    data = bytearray(original)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        where = draw(st.integers(min_value=0, max_value=len(data) - 1))
        data[where] = draw(st.integers(min_value=0, max_value=255))
    cut = draw(st.integers(min_value=0, max_value=len(data)))
    return bytes(data[:cut]) + draw(st.binary(max_size=8))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | damaged(VALID_CSR_DER) | damaged(VALID_CSR))
def test_any_csr_bytes_are_checked_or_refused_with_a_reason(data: bytes) -> None:
    try:
        checked = check_request(data)
    except ValidationFailed as exc:
        assert exc.field == "csr"
        assert exc.message.endswith(".")
    else:
        assert len(checked.spki_sha256) == 64


def test_the_valid_csr_passes() -> None:
    assert check_request(VALID_CSR).key_algorithm


@settings(max_examples=500, deadline=None)
@given(
    st.text(max_size=60)
    | st.from_regex(r"(0x)?[0-9A-Fa-f: ]{1,60}", fullmatch=True)
    | st.integers(min_value=0, max_value=2**170).map(hex)
)
def test_any_serial_text_is_normalised_or_refused(text: str) -> None:
    try:
        serial = normalise_serial(text)
    except ValidationFailed as exc:
        assert exc.field == "serial"
        return
    assert serial == normalise_serial(serial)  # the stored form is a fixed point
    assert int(serial, 16) >= 0
    assert len(serial) % 2 == 0


def _ocsp_request(ca: Hierarchy) -> bytes:
    issuer = ca.issuing.certificate
    return (
        ocsp.OCSPRequestBuilder()
        .add_certificate(issuer, ca.root.certificate, hashes.SHA1())  # noqa: S303 - RFC 5019
        .build()
        .public_bytes(serialization.Encoding.DER)
    )


def _answered(response: object) -> None:
    """An OCSP answer (successful or an RFC 6960 error status), or a plain 4xx: never a 5xx."""
    status = response.status_code  # type: ignore[attr-defined]
    assert status < 500, response
    if status == 200:
        assert response["Content-Type"] == "application/ocsp-response"  # type: ignore[index]
        ocsp.load_der_ocsp_response(response.content)  # type: ignore[attr-defined]


@pytest.mark.django_db
@DB_EXAMPLES
@given(data=st.data())
def test_any_ocsp_request_gets_an_ocsp_answer(ca: Hierarchy, data: st.DataObject) -> None:
    body = data.draw(st.binary(max_size=300) | damaged(_ocsp_request(ca)), label="body")
    client = Client(raise_request_exception=False)
    _answered(client.post("/pki/ocsp", body, content_type="application/ocsp-request"))
    encoded = urllib.parse.quote(base64.b64encode(body).decode(), safe="")
    _answered(client.get(f"/pki/ocsp/{encoded}"))


@pytest.mark.django_db
@DB_EXAMPLES
@given(text=st.text(min_size=1, max_size=80))
def test_any_ocsp_get_path_gets_an_answer(ca: Hierarchy, text: str) -> None:
    client = Client(raise_request_exception=False)
    _answered(client.get("/pki/ocsp/" + urllib.parse.quote(text, safe="/")))
