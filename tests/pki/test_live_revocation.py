"""Revocation over real HTTP to `cis serve`: OCSP says "revoked" at once, the next CRL lists it."""

from __future__ import annotations

import base64
import urllib.parse

import httpx
import pytest
from cryptography import x509
from cryptography.x509 import ocsp

from tests.live import LiveCis, ocsp_answer, ocsp_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_ra_agent_revokes_and_ocsp_and_the_crl_say_so(live_demo: LiveCis) -> None:
    holder = live_demo.persona("Jack Pearson")["user_id"]
    agent = live_demo.persona("Daniel Okafor")["user_id"]
    with live_demo.signed_in(agent) as client:
        listed = client.get("/api/v1/certificates/", params={"person": holder, "status": "valid"})
        assert listed.status_code == 200, listed.text
        serial = listed.json()["results"][0]["serial"]
        detail = client.get(f"/api/v1/certificates/{serial}/").json()
        cert = x509.load_pem_x509_certificate(detail["pem"].encode())
        request = ocsp_request(client, detail["pem"])

        def status() -> ocsp.OCSPCertStatus:
            return ocsp_answer(client, request).certificate_status

        assert status() == ocsp.OCSPCertStatus.GOOD  # and now cached as good
        before = x509.load_der_x509_crl(client.get("/pki/crl").content)
        assert before.get_revoked_certificate_by_serial_number(cert.serial_number) is None
        revoked = client.post(
            f"/api/v1/certificates/{serial}/revoke/", json={"reason": "keyCompromise"}
        )
        assert revoked.status_code == 200, revoked.text
        assert status() == ocsp.OCSPCertStatus.REVOKED  # at once, despite the cached answer
        after = x509.load_der_x509_crl(client.get("/pki/crl").content)
        assert after.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
        number = after.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        assert number > before.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def test_malformed_ocsp_requests_over_http_get_an_ocsp_error(live_demo: LiveCis) -> None:
    """What test_parser_properties tries in-process, at the real server: an OCSP error status
    (RFC 6960 malformedRequest), never a 500."""
    good = base64.b64decode(
        "MEIwQDA+MDwwOjAJBgUrDgMCGgUABBSl9kAMYbMyCNwdw2pdcB5ZJqNpHAQUpfZADGGzMgjcHcNqXXAeWSajaRw"
        "CAQE="
    )
    bodies = [b"", b"\x00", b"hello", b"\x30\x82\xff\xff", good[:20], good + b"\x00", b"\x30" * 500]
    with httpx.Client(base_url=live_demo.url, timeout=10) as http:
        for body in bodies:
            posted = http.post(
                "/pki/ocsp", content=body, headers={"Content-Type": "application/ocsp-request"}
            )
            got = http.get("/pki/ocsp/" + urllib.parse.quote(base64.b64encode(body).decode(), ""))
            for answer in (posted, got):
                assert answer.status_code < 500, (body, answer.status_code)
                if answer.status_code == 200:
                    status = ocsp.load_der_ocsp_response(answer.content).response_status
                    assert status != ocsp.OCSPResponseStatus.SUCCESSFUL or body == good


def test_an_ra_agent_revokes_a_batch_over_http_and_a_refusal_changes_nothing(
    live_demo: LiveCis,
) -> None:
    """`POST /api/v1/certificates/revoke/` at `cis serve`: one refused certificate (the agent's
    own, or one CIS never issued) and none is revoked; then the batch alone, all revoked,
    answered "revoked" by OCSP at once and listed in the next CRL."""
    agent = live_demo.persona("Daniel Okafor")["user_id"]
    with live_demo.signed_in(agent) as client:
        valid = client.get("/api/v1/certificates/", params={"status": "valid", "limit": 50})
        assert valid.status_code == 200, valid.text
        others = [c for c in valid.json()["results"] if c["person"]["user_id"] != agent]
        batch = [c["serial"] for c in others[:3]]
        assert len(batch) == 3
        own = client.get("/api/v1/certificates/", params={"person": agent, "status": "valid"})
        refused_with = [
            (own.json()["results"][0]["serial"], 403),  # nobody revokes their own certificate
            ("7f" + "00" * 19, 404),  # never issued: not found, as for one
        ]
        for odd, status in refused_with:
            refused = client.post(
                "/api/v1/certificates/revoke/",
                json={"serials": [*batch, odd], "reason": "keyCompromise"},
            )
            assert refused.status_code == status, refused.text
            for serial in batch:
                detail = client.get(f"/api/v1/certificates/{serial}/").json()
                assert detail["status"] == "valid"  # nothing changed

        done = client.post(
            "/api/v1/certificates/revoke/", json={"serials": batch, "reason": "keyCompromise"}
        )
        assert done.status_code == 200, done.text
        assert done.json()["revoked"] == batch
        for serial in batch:
            detail = client.get(f"/api/v1/certificates/{serial}/").json()
            assert detail["status"] == "revoked"
            status = ocsp_answer(client, ocsp_request(client, detail["pem"])).certificate_status
            assert status == ocsp.OCSPCertStatus.REVOKED
        listed = x509.load_der_x509_crl(client.get("/pki/crl").content)
        assert {int(s, 16) for s in batch} <= {entry.serial_number for entry in listed}
