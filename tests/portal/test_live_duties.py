"""Over real HTTP to `cis serve`, with the real CSRF check, as the demo's personas: the clinical
systems pages, a person's details form, the card pages for a locked card, repair and clear, and
sessions and security keys over the API."""

from __future__ import annotations

import re

import pytest

from tests.live import LiveCis

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_service_desk_registers_rotates_and_retires_a_clinical_system(
    live_demo: LiveCis,
) -> None:
    desk = live_demo.persona("Sophie Brennan")["user_id"]
    with live_demo.signed_in(desk) as client:
        assert client.get("/oidc-clients/new/").status_code == 200
        made = client.post(
            "/oidc-clients/new/",
            data={"name": "Live EHR", "redirect_uris": "https://live-ehr.example.org/cb"},
        )
        assert made.status_code == 200, made.text[:2000]
        assert made.headers["cache-control"] == "no-store"
        secret = re.search(r'<code id="client-secret">([^<]+)</code>', made.text)
        assert secret is not None
        listed = client.get("/api/v1/oidc-clients/").json()
        ids = [c["client_id"] for c in listed if c["name"] == "Live EHR"]
        assert len(ids) == 1
        page = client.get(f"/oidc-clients/{ids[0]}/")
        assert page.status_code == 200 and secret.group(1) not in page.text
        assert "Live EHR" in client.get("/oidc-clients/").text
        rotated = client.post(f"/oidc-clients/{ids[0]}/rotate-secret/", data={})
        assert rotated.status_code == 200
        new = re.search(r'<code id="client-secret">([^<]+)</code>', rotated.text)
        assert new is not None and new.group(1) != secret.group(1)
        retired = client.post(f"/oidc-clients/{ids[0]}/retire/", data={"reason": "Gone"})
        assert retired.status_code == 302, retired.text[:2000]
        assert client.get(f"/oidc-clients/{ids[0]}/").status_code == 404
    manager = live_demo.persona("Margaret Whitfield")["user_id"]
    with live_demo.signed_in(manager) as client:
        assert client.get("/oidc-clients/").status_code == 403
        refused = client.post(
            "/oidc-clients/new/", data={"name": "X", "redirect_uris": "https://x.example.org/"}
        )
        assert refused.status_code == 403


def test_ra_duties_over_http(live_demo: LiveCis) -> None:
    agent = live_demo.persona("Daniel Okafor")["user_id"]
    jack = live_demo.persona("Jack Pearson")
    with live_demo.signed_in(agent) as client:
        person = client.get(f"/api/v1/people/{jack['user_id']}/").json()
        changed = client.post(
            f"/people/{jack['user_id']}/change/",
            data={
                "given_name": person["given_name"],
                "family_name": "Pearson-Lee",
                "date_of_birth_day": "19",
                "date_of_birth_month": "1",
                "date_of_birth_year": "1995",
                "professional_body": "",
                "professional_number": "",
            },
        )
        assert changed.status_code == 302, changed.text[:2000]
        assert client.get(f"/api/v1/people/{jack['user_id']}/").json()["family_name"] == (
            "Pearson-Lee"
        )
        cards = client.get(f"/api/v1/cards/?holder={jack['user_id']}").json()
        serial = cards[0]["chip_serial"]
        assert "cis-agent repair" in client.get(f"/smartcards/{serial}/repair/").text
        assert "cis-agent clear" in client.get(f"/smartcards/{serial}/clear/").text
        sessions = client.get(f"/api/v1/people/{jack['user_id']}/sessions/")
        assert sessions.status_code == 200, sessions.text
        keys = client.get(f"/api/v1/people/{jack['user_id']}/authenticators/")
        assert keys.status_code == 200 and keys.json() == []
        ended = client.post(f"/api/v1/people/{jack['user_id']}/sessions/end/")
        assert ended.status_code == 200 and "ended" in ended.json()
    with live_demo.signed_in(jack["user_id"]) as client:
        assert client.get("/api/v1/me/authenticators/").json() == []
        # Signed in through the demo's persona form, not with the card: no key may be added.
        refused = client.post("/api/v1/me/authenticators/options/")
        assert refused.status_code == 403, refused.text
        locked = client.post(f"/my-smartcard/{serial}/locked/", data={})
        assert locked.status_code == 302, locked.text[:2000]
        assert client.get(f"/api/v1/cards/{serial}/").json()["status"] == "locked"
