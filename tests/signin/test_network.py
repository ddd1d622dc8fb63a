"""Network restriction (a CIDR allowlist) and the TLS client-certificate path through a proxy."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import serialization
from django.test import Client

from cis.pki.models import Certificate
from cis.signin.models import SignInMethod, SignInSession
from cis_card.base import Card
from tests.oidc.support import Holder

pytestmark = pytest.mark.django_db
HSCN = ["10.0.0.0/8", "2001:db8::/32"]


def test_off_by_default(db: None) -> None:
    assert Client(REMOTE_ADDR="203.0.113.9").get("/sign-in/").status_code == 200


@pytest.mark.parametrize("address", ["10.1.2.3", "2001:db8::5"])
def test_allowed_networks_get_in(db: None, settings: object, address: str) -> None:
    settings.CIS_ALLOWED_NETWORKS = HSCN  # type: ignore[attr-defined]
    assert Client(REMOTE_ADDR=address).get("/sign-in/").status_code == 200


@pytest.mark.parametrize("path", ["/sign-in/", "/signin/agent/challenge", "/oidc/authorize"])
def test_everyone_else_gets_a_clear_page(db: None, settings: object, path: str) -> None:
    settings.CIS_ALLOWED_NETWORKS = HSCN  # type: ignore[attr-defined]
    response = Client(REMOTE_ADDR="203.0.113.9").get(path)
    assert response.status_code == 403
    text = response.content.decode()
    assert "You cannot use this service from this network" in text
    assert "203.0.113.9" in text and "VPN" in text


@pytest.mark.parametrize(
    "path", ["/healthz", "/.well-known/openid-configuration", "/oidc/jwks", "/oidc/token"]
)
def test_relying_parties_back_channel_stays_open(db: None, settings: object, path: str) -> None:
    settings.CIS_ALLOWED_NETWORKS = HSCN  # type: ignore[attr-defined]
    assert Client(REMOTE_ADDR="203.0.113.9").get(path).status_code != 403


def test_forwarded_address_is_believed_only_from_a_trusted_proxy(
    db: None, settings: object
) -> None:
    settings.CIS_ALLOWED_NETWORKS = HSCN  # type: ignore[attr-defined]
    spoofed = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.1.1.1")
    assert spoofed.get("/sign-in/").status_code == 403
    settings.CIS_TRUSTED_PROXIES = ["192.0.2.10/32"]  # type: ignore[attr-defined]
    via_proxy = Client(REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.1.1.1")
    assert via_proxy.get("/sign-in/").status_code == 200
    outsider = Client(REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="10.1.1.1, 203.0.113.9")
    assert outsider.get("/sign-in/").status_code == 403


def _pem_header(card: Card) -> str:
    from cryptography import x509

    from cis_agent.login import presented

    cert = x509.load_der_x509_certificate(presented(card).der)
    return quote(cert.public_bytes(serialization.Encoding.PEM).decode())


def test_tls_path_is_off_unless_configured(db: None) -> None:
    assert Client().get("/signin/tls/").status_code == 404


def test_tls_client_certificate_through_a_trusted_proxy(
    asha: Holder, make_card: Callable[..., Card], settings: object
) -> None:
    settings.CIS_TLS_CLIENT_CERT_HEADER = "X-SSL-Client-Cert"  # type: ignore[attr-defined]
    settings.CIS_TRUSTED_PROXIES = ["127.0.0.1/32"]  # type: ignore[attr-defined]
    card = make_card(asha.person)
    headers = {"HTTP_X_SSL_CLIENT_CERT": _pem_header(card), "HTTP_X_SSL_CLIENT_VERIFY": "SUCCESS"}
    browser = Client(REMOTE_ADDR="127.0.0.1", **headers)
    assert b"Your browser presented" in browser.get("/signin/tls/").content
    response = browser.post("/signin/tls/")
    assert response.status_code == 302
    session = SignInSession.objects.get(person=asha.person)
    assert session.method == SignInMethod.TLS_CLIENT_CERT
    assert session.acr == "AAL3" and "mtls" in session.amr
    assert session.certificate_serial == Certificate.objects.get(person=asha.person).serial_hex


def test_tls_header_from_anyone_else_is_ignored(
    asha: Holder, make_card: Callable[..., Card], settings: object
) -> None:
    settings.CIS_TLS_CLIENT_CERT_HEADER = "X-SSL-Client-Cert"  # type: ignore[attr-defined]
    settings.CIS_TRUSTED_PROXIES = ["127.0.0.1/32"]  # type: ignore[attr-defined]
    card = make_card(asha.person)
    headers = {"HTTP_X_SSL_CLIENT_CERT": _pem_header(card), "HTTP_X_SSL_CLIENT_VERIFY": "SUCCESS"}
    forger = Client(REMOTE_ADDR="198.51.100.7", **headers)
    assert forger.post("/signin/tls/").status_code == 403
    unverified = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_SSL_CLIENT_CERT=_pem_header(card))
    assert unverified.post("/signin/tls/").status_code == 403
    assert not SignInSession.objects.exists()
