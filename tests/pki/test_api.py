"""The certificates API: scoped search and detail, revoke by RA Agents, errors in one shape."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from cis.authz.policy import CONSOLE
from cis.people.models import Person
from cis.pki.hierarchy import Hierarchy
from cis.pki.models import Certificate
from cis.pki.services import certificate_issue
from cis.pki.states import CertificateStatus

from .conftest import Directory, make_csr

pytestmark = pytest.mark.django_db


def _client(person: Person | None) -> APIClient:
    client = APIClient()
    if person is not None:
        client.force_authenticate(person)
    return client


@pytest.fixture
def certs(ca: Hierarchy, people: Directory) -> dict[str, Certificate]:
    return {
        "holder": certificate_issue(actor=people.agent, person=people.holder, csr_pem=make_csr()),
        "outsider": certificate_issue(actor=CONSOLE, person=people.outsider, csr_pem=make_csr()),
    }


def _serials(body: dict[str, Any]) -> set[str]:
    return {row["serial"] for row in body["results"]}


def test_list_is_scoped(people: Directory, certs: dict[str, Certificate]) -> None:
    mine = _client(people.holder).get("/api/v1/certificates/")
    assert mine.status_code == 200
    assert _serials(mine.json()) == {certs["holder"].serial_hex}
    agent = _client(people.agent).get("/api/v1/certificates/")
    assert _serials(agent.json()) == {certs["holder"].serial_hex}
    lsa = _client(people.lsa).get("/api/v1/certificates/")
    assert _serials(lsa.json()) == {certs["holder"].serial_hex}
    outsider = _client(people.outsider).get("/api/v1/certificates/")
    assert _serials(outsider.json()) == {certs["outsider"].serial_hex}
    assert _client(None).get("/api/v1/certificates/").status_code in (401, 403)


def test_search_by_name_serial_status_and_person(
    people: Directory, certs: dict[str, Certificate]
) -> None:
    client = _client(people.agent)
    serial = certs["holder"].serial_hex
    for query in ("Harriet", "holder", people.holder.user_id[:6], serial.upper()):
        found = client.get("/api/v1/certificates/", {"q": query}).json()
        assert _serials(found) == {serial}, query
    assert _serials(client.get("/api/v1/certificates/", {"q": "Nobody"}).json()) == set()
    assert _serials(client.get("/api/v1/certificates/", {"status": "valid"}).json()) == {serial}
    assert _serials(client.get("/api/v1/certificates/", {"status": "revoked"}).json()) == set()
    by_person = client.get("/api/v1/certificates/", {"person": people.holder.user_id})
    assert _serials(by_person.json()) == {serial}
    expiring = client.get("/api/v1/certificates/", {"expiring_within_days": 30})
    assert _serials(expiring.json()) == set()
    bad = client.get("/api/v1/certificates/", {"status": "on-hold"})
    assert bad.status_code == 400
    outside = client.get("/api/v1/certificates/", {"person": people.outsider.user_id})
    assert outside.status_code == 404


def test_detail(people: Directory, certs: dict[str, Certificate]) -> None:
    serial = certs["holder"].serial_hex
    body = _client(people.holder).get(f"/api/v1/certificates/{serial}/").json()
    assert body["serial"] == serial
    assert body["status"] == "valid"
    assert body["person"]["user_id"] == people.holder.user_id
    assert body["pem"].startswith("-----BEGIN CERTIFICATE-----")
    hidden = _client(people.holder).get(f"/api/v1/certificates/{certs['outsider'].serial_hex}/")
    assert hidden.status_code == 404
    assert hidden.json()["error"] == "not_found"
    assert _client(people.agent).get("/api/v1/certificates/zz/").status_code == 404


def test_revoke(people: Directory, certs: dict[str, Certificate]) -> None:
    serial = certs["holder"].serial_hex
    url = f"/api/v1/certificates/{serial}/revoke/"
    refused = _client(people.lsa).post(url, {"reason": "keyCompromise"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"] == "not_permitted"
    hold = _client(people.agent).post(url, {"reason": "certificateHold"}, format="json")
    assert hold.status_code == 400
    assert "never suspends" in hold.json()["detail"]
    done = _client(people.agent).post(url, {"reason": "keyCompromise"}, format="json")
    assert done.status_code == 200
    assert done.json()["status"] == "revoked"
    assert done.json()["revocation_reason"] == "key_compromise"
    again = _client(people.agent).post(url, {"reason": "keyCompromise"}, format="json")
    assert again.status_code == 409
    assert Certificate.objects.get(serial_hex=serial).status == CertificateStatus.REVOKED
    missing = _client(people.agent).post(url, {}, format="json")
    assert missing.status_code == 400
