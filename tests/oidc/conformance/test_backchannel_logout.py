"""The OpenID Foundation's Back-Channel Logout OP plan (oidcc-backchannel-rp-initiated-logout and
the back-channel parts of the logout plans), over real HTTP: the sample relying party
(examples/prescribing) served on a port of its own, a real card sign-in through `cis-agent`, and
the `backchannel-logout` job delivering the logout token.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from examples.prescribing.app import PrescribingApp, Settings

from tests.live import LiveCis, free_port

from .rp import LOGOUT_URI, REDIRECT_URI

pytestmark = pytest.mark.timeout(900)
AGENT = str(Path(sys.executable).with_name("cis-agent"))
HOLDER = "Sarah Fenwick"  # a GP with one position and an active card, used by no other test
EVENT = "http://schemas.openid.net/event/backchannel-logout"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


@pytest.fixture
def prescribing(op: LiveCis) -> Iterator[PrescribingApp]:
    """The sample relying party, registered with a back-channel logout URI, served over HTTP."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    registered = json.loads(
        op.cis(
            "oidc",
            "add-client",
            "--name",
            "Prescribing (example)",
            "--redirect-uri",
            f"{base}/callback",
            "--post-logout-redirect-uri",
            f"{base}/signed-out",
            "--backchannel-logout-uri",
            f"{base}/backchannel-logout",
            "--backchannel-logout-session-required",
        ).stdout  # fmt: skip
    )
    assert registered["backchannel_logout_uri"] == f"{base}/backchannel-logout"
    app = PrescribingApp(
        Settings(
            issuer=op.url,
            client_id=registered["client_id"],
            client_secret=registered["client_secret"],
            base_url=base,
        )
    )
    server: WSGIServer = make_server("127.0.0.1", port, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()


def _card_sign_in(op: LiveCis, persona: dict[str, Any]) -> httpx.Client:
    """`cis-agent sign-in` with the persona's card and passcode; the browser takes it over."""
    done = subprocess.run(  # noqa: S603 - our own command
        [AGENT, "sign-in", "--server", op.url, "--card", persona["card"], "--passcode-stdin"],
        input=persona["passcode"] + "\n", capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    link = next(word for word in done.stdout.split() if "/signin/ticket/" in word)
    browser = op.client()
    browser.get(link)  # the "Continue" page, which sets the CSRF cookie
    taken = browser.post(link, data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert taken.status_code == 302, taken.text
    return browser


def _rp_sign_in(app: PrescribingApp, cis_browser: httpx.Client) -> httpx.Client:
    rp_browser = httpx.Client(base_url=app.settings.base_url, timeout=60)
    authorize = rp_browser.get("/login").headers["location"]
    back = cis_browser.get(authorize)
    assert back.status_code == 302, back.text
    callback = urlsplit(back.headers["location"])
    done = rp_browser.get(f"{callback.path}?{callback.query}")
    assert done.status_code == 302, done.text
    return rp_browser


def test_oidcc_backchannel_logout_when_the_card_is_cancelled(
    op: LiveCis, prescribing: PrescribingApp
) -> None:
    """Cancel a card while the sample RP holds a session: the RP receives one logout token,
    verifies it, and ends its session."""
    holder = op.persona(HOLDER)
    cis_browser = _card_sign_in(op, holder)
    rp_browser = _rp_sign_in(prescribing, cis_browser)
    home = rp_browser.get("/")
    assert f"Signed in as {HOLDER}" in home.text
    assert "checked by token introspection" in home.text
    [visit] = [v for v in prescribing.visits.values() if v.claims]
    assert visit.claims["acr"] == "AAL3"

    # Nothing is sent while the sign-in lasts.
    op.cis("jobs", "run", "--only", "backchannel-logout")
    assert prescribing.logout_tokens_seen == set()

    # An RA Agent cancels the card (the card was lost).
    agent = next(p for p in op.personas if p["role"] == "RA Agent")
    with op.signed_in(agent["user_id"]) as ra:
        cards = ra.get("/api/v1/cards/", params={"holder": holder["user_id"]}).json()
        chip = next(c["chip_serial"] for c in _results(cards) if c["status"] == "active")
        cancelled = ra.post(f"/api/v1/cards/{chip}/cancel/", json={"reason": "lost"})
        assert cancelled.status_code == 200, cancelled.text

    ran = op.cis("jobs", "run", "--only", "backchannel-logout")
    assert "1 logout token(s) sent" in ran.stdout + ran.stderr
    assert len(prescribing.logout_tokens_seen) == 1  # received, verified (jti kept)
    assert visit.claims == {} and visit.ended_by_cis  # ended by the logout token itself
    assert "Your Care Identity sign-in has ended" in rp_browser.get("/").text
    # Exactly once per session: the next runs send nothing more.
    again = op.cis("jobs", "run", "--only", "backchannel-logout")
    assert "0 logout token(s) sent" in again.stdout + again.stderr
    assert len(prescribing.logout_tokens_seen) == 1


def test_oidcc_backchannel_logout_token_is_refused_if_forged_or_replayed(
    op: LiveCis, prescribing: PrescribingApp
) -> None:
    """The RP's side of §2.6, against tokens CIS did not sign: each is refused with 400."""
    url = f"{prescribing.settings.base_url}/backchannel-logout"
    for bad in ("", "not.a.jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."):
        answer = httpx.post(url, data={"logout_token": bad}, timeout=30)
        assert answer.status_code == 400, bad


def test_oidcc_backchannel_discovery(op: LiveCis) -> None:
    document = httpx.get(f"{op.url}/.well-known/openid-configuration", timeout=30).json()
    assert document["backchannel_logout_supported"] is True
    assert document["backchannel_logout_session_supported"] is True


def test_oidcc_backchannel_uri_must_be_https(op: LiveCis) -> None:
    refused = op.cis(
        "oidc", "add-client", "--name", "Plain", "--redirect-uri", REDIRECT_URI,
        "--post-logout-redirect-uri", LOGOUT_URI,
        "--backchannel-logout-uri", "http://rp.example.nhs.uk/backchannel-logout",
        check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "https" in refused.stderr


def _results(listing: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = listing["results"] if isinstance(listing, dict) else listing
    return found
