"""Directory administration over real HTTP to `cis serve`, with the real CSRF check, as personas."""

from __future__ import annotations

import pytest

from tests.live import LiveCis

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_service_desk_keeps_an_ras_contact_details_over_http(live_demo: LiveCis) -> None:
    desk = live_demo.persona("Sophie Brennan")["user_id"]
    with live_demo.signed_in(desk) as client:
        changed = client.patch(
            "/api/v1/registration-authorities/RA-NP/",
            json={"phone": "0113 496 0999", "hours": "Weekdays 8am to 6pm", "geographies": ["QWO"]},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["geographies"] == ["QWO"]
        page = client.get("/registration-authorities/RA-NP/")
        assert "0113 496 0999" in page.text and "Weekdays 8am to 6pm" in page.text
        refused = client.patch("/api/v1/registration-authorities/RA-NP/", json={"phone": "ring"})
        assert refused.status_code == 400 and refused.json()["field"] == "phone"
    holder = live_demo.persona("Jack Pearson")["user_id"]
    with live_demo.signed_in(holder) as client:
        assert client.get("/api/v1/registration-authorities/RA-NP/").json()["phone"] == (
            "0113 496 0999"
        )
        assert (
            client.patch(
                "/api/v1/registration-authorities/RA-NP/", json={"phone": "0113 496 0000"}
            ).status_code
            == 403
        )


def test_an_ra_manager_closes_and_reopens_an_organisation_over_http(live_demo: LiveCis) -> None:
    manager = live_demo.persona("Margaret Whitfield")["user_id"]
    with live_demo.signed_in(manager) as client:
        closed = client.post("/api/v1/organisations/FHG95/close/", json={"reason": "Sold"})
        assert closed.status_code == 200, closed.text
        assert closed.json()["status"] == "closed"
        # The portal's form, posted as a browser would (CSRF token from the cookie).
        reopened = client.post("/organisations/FHG95/reopen/", data={"reason": "Reopened"})
        assert reopened.status_code == 302, reopened.text[:2000]
        assert client.get("/api/v1/organisations/FHG95/").json()["status"] == "open"
        renamed = client.post(
            "/organisations/FHG95/change/", data={"name": "Renamed Pharmacy", "address": ""}
        )
        assert renamed.status_code == 302
        assert client.get("/api/v1/organisations/FHG95/").json()["name"] == "Renamed Pharmacy"
        moved = client.post("/api/v1/organisations/FHG95/move/", json={"parent": "PPG01"})
        assert moved.json()["parent"]["ods_code"] == "PPG01"


def test_an_rpa_profile_over_http_needs_an_end_date_and_is_renewed(live_demo: LiveCis) -> None:
    import base64
    import datetime as dt

    manager = live_demo.persona("Margaret Whitfield")["user_id"]
    body = {
        "given_name": "Dispensing",
        "family_name": "Robot",
        "date_of_birth": "2001-01-01",
        "registered_ra": "RA-NP",
        "kind": "rpa",
    }
    with live_demo.signed_in(manager) as client:
        refused = client.post("/api/v1/people/", json=body)
        assert refused.status_code == 400 and refused.json()["field"] == "access_ends_on"
        soon = (dt.date.today() + dt.timedelta(days=30)).isoformat()
        created = client.post("/api/v1/people/", json={**body, "access_ends_on": soon})
        assert created.status_code == 201, created.text
        user_id = created.json()["user_id"]
        assert created.json()["access_ends_on"] == soon
        later = (dt.date.today() + dt.timedelta(days=300)).isoformat()
        renewed = client.post(f"/api/v1/people/{user_id}/extend-access/", json={"ends_on": later})
        assert renewed.status_code == 200 and renewed.json()["access_ends_on"] == later
        too_far = (dt.date.today() + dt.timedelta(days=400)).isoformat()
        assert (
            client.post(
                f"/api/v1/people/{user_id}/extend-access/", json={"ends_on": too_far}
            ).status_code
            == 400
        )
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
        checked = client.post(
            f"/api/v1/people/{user_id}/identity-checks/",
            json={
                "document_types": ["passport", "utility_bill", "p60"],
                "photo": base64.b64encode(png).decode(),
            },
        )
        assert checked.status_code == 201, checked.text
        assert checked.json()["has_photo"] is True
        bad_photo = client.post(
            "/api/v1/people/",
            json={**body, "family_name": "Other", "professional_body": "GMC",
                  "professional_number": "123"},
        )  # fmt: skip
        assert bad_photo.status_code == 400 and bad_photo.json()["field"] == ("professional_number")
