"""Portal pages for certificates: a person's list, search, detail, download, and revoke."""

from __future__ import annotations

import pytest
from django.test import Client

from cis.authz.policy import CONSOLE
from cis.pki.hierarchy import Hierarchy
from cis.pki.models import Certificate
from cis.pki.services import certificate_issue
from cis.pki.states import CertificateStatus

from .conftest import Directory, make_csr

pytestmark = pytest.mark.django_db


@pytest.fixture
def cert(ca: Hierarchy, people: Directory) -> Certificate:
    return certificate_issue(actor=people.agent, person=people.holder, csr_pem=make_csr())


def _as(client: Client, person: object) -> Client:
    client.force_login(person)  # type: ignore[arg-type]
    return client


def test_a_holder_sees_their_own_certificates(
    client: Client, people: Directory, cert: Certificate
) -> None:
    page = _as(client, people.holder).get("/my-certificates/")
    assert page.status_code == 200
    html = page.content.decode()
    assert cert.serial_hex[:16] in html
    assert "Valid" in html
    assert cert.not_after.strftime("%Y") in html
    assert "/revoke/" not in html  # holders do not revoke here (they cancel a lost card)
    detail = client.get(f"/certificates/{cert.serial_hex}/")
    assert detail.status_code == 200
    download = client.get(f"/certificates/{cert.serial_hex}/certificate.pem")
    assert download.content.decode() == cert.pem
    assert client.get("/certificates/").status_code == 403  # no admin right


def test_an_ra_agent_sees_a_persons_certificates_and_revokes(
    client: Client, people: Directory, cert: Certificate
) -> None:
    _as(client, people.agent)
    page = client.get(f"/people/{people.holder.user_id}/certificates/")
    assert page.status_code == 200
    assert f"/certificates/{cert.serial_hex}/revoke/" in page.content.decode()

    form = client.get(f"/certificates/{cert.serial_hex}/revoke/")
    assert form.status_code == 200
    assert "Revocation is final" in form.content.decode()
    assert "certificateHold" not in form.content.decode()

    missing = client.post(f"/certificates/{cert.serial_hex}/revoke/", {})
    assert missing.status_code == 200  # the form again, with an error
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.VALID

    done = client.post(
        f"/certificates/{cert.serial_hex}/revoke/", {"reason": "key_compromise"}, follow=True
    )
    assert done.status_code == 200
    assert "is revoked" in done.content.decode()
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.REVOKED
    again = client.get(f"/people/{people.holder.user_id}/certificates/")
    assert "Revoked" in again.content.decode()
    assert f"/certificates/{cert.serial_hex}/revoke/" not in again.content.decode()


def test_search(client: Client, people: Directory, cert: Certificate) -> None:
    certificate_issue(actor=CONSOLE, person=people.outsider, csr_pem=make_csr())
    _as(client, people.lsa)
    page = client.get("/certificates/", {"q": "Holder"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Harriet Holder" in html
    assert "Outsider" not in html
    assert "/revoke/" not in html  # an LSA sees, but does not revoke
    nothing = client.get("/certificates/", {"q": "Outsider"})
    assert "No certificate you can see" in nothing.content.decode()


def test_out_of_scope_and_anonymous(client: Client, people: Directory, cert: Certificate) -> None:
    assert client.get("/my-certificates/").status_code == 302  # to sign in
    _as(client, people.outsider)
    assert client.get(f"/certificates/{cert.serial_hex}/").status_code == 404
    assert client.get(f"/certificates/{cert.serial_hex}/certificate.pem").status_code == 404
    revoke = client.get(f"/certificates/{cert.serial_hex}/revoke/")
    assert revoke.status_code == 404
    _as(client, people.lsa)
    assert client.get(f"/certificates/{cert.serial_hex}/revoke/").status_code == 403
    assert (
        client.post(
            f"/certificates/{cert.serial_hex}/revoke/", {"reason": "key_compromise"}
        ).status_code
        == 403
    )
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.VALID
