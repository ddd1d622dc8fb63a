"""Requests over real HTTP to `cis serve`, with the real agent process at the RA's workstation.

A card request closes when `cis-agent issue` has made the card; an escalation is reassigned and
commented on through the API and the portal's forms (real CSRF), as the demo's personas.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live import LiveCis

pytestmark = pytest.mark.django_db(transaction=True)

AGENT = str(Path(sys.executable).with_name("cis-agent"))


def agent(
    live: LiveCis, home: Path, *args: str, input: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIS_AGENT_HOME": str(home), "CIS_SERVER": live.url}
    return subprocess.run(  # noqa: S603 - our own script, arguments from the test
        [AGENT, *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_card_request_closes_when_the_agent_issues_the_card(
    live_demo: LiveCis, tmp_path: Path
) -> None:
    sponsor = live_demo.persona("Richard Ashworth")["user_id"]
    ra_agent = live_demo.persona("Daniel Okafor")
    holder = "100000000011"  # Chloe Barker, a dispenser at Hebden Bridge
    with live_demo.signed_in(sponsor) as client:
        raised = client.post(
            "/api/v1/requests/",
            json={"request_type": "card_issue", "payload": {"user_id": holder}},
        )
        assert raised.status_code == 201, raised.text
        request_id = raised.json()["id"]
    with live_demo.signed_in(ra_agent["user_id"]) as client:
        approved = client.post(f"/api/v1/requests/{request_id}/approve/", json={})
        assert approved.json()["state"] == "approved", approved.text
    # At the RA's workstation: the agent signs in with Daniel's card, then issues a blank one.
    home = tmp_path / "agent"
    home.mkdir()
    blank = tmp_path / "blank.card"
    made = agent(live_demo, home, "new-virtual-card", str(blank))
    assert made.returncode == 0, made.stderr
    login = agent(
        live_demo, home, "login", "--card", ra_agent["card"], "--passcode-stdin", input="2468\n"
    )
    assert login.returncode == 0, login.stderr
    issued = agent(
        live_demo,
        home,
        "issue",
        "--card",
        f"virtual:{blank}",
        "--holder",
        holder,
        "--passcode-stdin",
        input="1357\n",
    )
    assert issued.returncode == 0, issued.stderr
    with live_demo.signed_in(sponsor) as client:
        body = client.get(f"/api/v1/requests/{request_id}/").json()
        assert body["state"] == "applied"
        serial = body["result_ref"].removeprefix("card:")
        assert serial and body["result_ref"].startswith("card:")
        page = client.get(f"/requests/{request_id}/").text
        assert "Applied" in page
        assert f"/smartcards/{serial}/" in page
    verified = live_demo.cis("audit", "verify")
    assert "intact" in verified.stdout


def test_an_escalation_is_reassigned_and_commented_on_over_http(live_demo: LiveCis) -> None:
    manager = live_demo.persona("Margaret Whitfield")["user_id"]
    desk = live_demo.persona("Sophie Brennan")["user_id"]
    ra_agent = live_demo.persona("Daniel Okafor")["user_id"]
    with live_demo.signed_in(manager) as client:
        escalated = client.get("/api/v1/requests/?view=escalated").json()["results"]
        assert escalated, "the demo has escalated requests"
        first, *rest = escalated
        moved = client.post(
            f"/api/v1/requests/{first['id']}/reassign/",
            json={"agent": ra_agent, "note": "Please call the branch today."},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["assigned_to"]["user_id"] == ra_agent
        refused = client.post(
            f"/api/v1/requests/{first['id']}/reassign/", json={"agent": "999999999999"}
        )
        assert refused.status_code == 404
        assert refused.json()["field"] == "agent"
        commented = client.post(
            f"/api/v1/requests/{first['id']}/comments/", json={"text": "Handed to Daniel."}
        )
        assert commented.status_code == 201, commented.text
        if rest:
            # The portal's form, as a browser posts it (CSRF token from the cookie).
            form = client.post(
                f"/requests/{rest[0]['id']}/reassign/",
                data={
                    "agent": ra_agent,
                    "note": "",
                    "csrfmiddlewaretoken": client.cookies["csrftoken"],
                },
            )
            assert form.status_code == 302, form.text[:2000]
    with live_demo.signed_in(desk) as client:
        posted = client.post(
            f"/requests/{first['id']}/comment/",
            data={
                "text": "Service desk is watching this one.",
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
        )
        assert posted.status_code == 302, posted.text[:2000]
        page = client.get(f"/requests/{first['id']}/").text
        assert "Service desk is watching this one." in page
        assert "Handed to Daniel." in page
        assert "Who to contact" in page
    with live_demo.signed_in(ra_agent) as client:
        detail = client.get(f"/api/v1/requests/{first['id']}/").json()
        assert detail["state"] == "submitted"
        assert [e["kind"] for e in detail["history"]].count("reassigned") == 1
    assert "intact" in live_demo.cis("audit", "verify").stdout
