"""Imports over real HTTP to `cis serve`: queued by the service desk, run by `cis jobs run`."""

from __future__ import annotations

import pytest

from tests.live import LiveCis

from .conftest import SAMPLES

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_service_desk_queues_an_import_and_polls_its_report(live_demo: LiveCis) -> None:
    desk = live_demo.persona("Sophie Brennan")["user_id"]
    trust = (SAMPLES / "etr-sample.csv").read_text()
    sites = (SAMPLES / "ets-sample.csv").read_text()
    with live_demo.signed_in(desk) as client:
        queued = client.post(
            "/api/v1/imports/",
            json={"kind": "ods", "filename": "etr.csv", "content": trust, "ra": "RA-NP"},
        )
        assert queued.status_code == 202, queued.text
        run = queued.json()
        assert run["status"] == "queued"
        bad = client.post(
            "/api/v1/imports/",
            files={"file": ("ets.csv", sites.replace("RZZ02", "QQ").encode(), "text/csv")},
            data={"kind": "ods"},
        )
        assert bad.status_code == 202, bad.text
        refused = client.post(
            "/api/v1/imports/", json={"kind": "ods", "filename": "x.csv", "content": trust}
        )
        assert refused.status_code == 400 and refused.json()["field"] == "layout"
    live_demo.cis("jobs", "run", "--only", "run-imports")
    with live_demo.signed_in(desk) as client:
        done = client.get(run["url"]).json()
        assert done["status"] == "done", done
        assert done["counts"] == {"created": 1}
        assert client.get("/api/v1/organisations/RZZ/").json()["serving_ra"]["code"] == "RA-NP"
        rejected = client.get(bad.json()["url"]).json()
        assert rejected["status"] == "rejected"
        assert rejected["rejected"] == [
            {
                "line": 2,
                "field": "Organisation Code",
                "reason": "Enter an ODS code in the correct format: 3 to 6 letters and digits",
            }
        ]
        assert client.get("/api/v1/organisations/RZZ01/").status_code == 404
        page = client.get(f"/imports/{rejected['id']}/")
        assert page.status_code == 200 and "Enter an ODS code in the correct format" in page.text
        # The portal's form queues a file the same way.
        form = client.post(
            "/imports/new/",
            files={"file": ("epharmacyhq.csv", (SAMPLES / "epharmacyhq-sample.csv").read_bytes())},
            data={"kind": "ods", "layout": "", "ra": "RA-NP"},
        )
        assert form.status_code == 302, form.text[:3000]
        assert "Import a file" in client.get("/imports/").text
    live_demo.cis("jobs", "run", "--only", "run-imports")
    with live_demo.signed_in(desk) as client:
        assert client.get("/api/v1/organisations/ZZH01/").status_code == 200
    holder = live_demo.persona("Jack Pearson")["user_id"]
    with live_demo.signed_in(holder) as client:
        assert client.get("/api/v1/imports/").status_code == 403
        assert (
            client.post("/api/v1/imports/", json={"kind": "esr", "content": "x"}).status_code == 403
        )
