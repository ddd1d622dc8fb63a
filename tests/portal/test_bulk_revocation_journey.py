"""Bulk revocation in the portal, in Chromium over real HTTP to `cis serve` (the demo world):
an RA Agent pastes a list with a mistake in it, reads the per-line report, corrects it,
confirms and revokes; then the holder sees it on their certificates page, and an independent
OCSP client gets "revoked"."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.x509 import ocsp

from tests.live import LiveCis, ocsp_answer, ocsp_request

from .browsing import chromium, csp_violations, new_page, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which("chromium") is None, reason="Debian's chromium is not installed"
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def _ocsp_status(base: str, pem: str) -> ocsp.OCSPCertStatus:
    """What an OCSP client that knows nothing of CIS but its published chain is told."""
    with httpx.Client(base_url=base, timeout=30) as http:
        return ocsp_answer(http, ocsp_request(http, pem)).certificate_status


def test_an_ra_agent_revokes_a_batch_in_the_portal_and_the_holder_sees_it(
    live_demo: LiveCis, browser: Any
) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415 - browser tests only

    base = live_demo.url
    agent = live_demo.persona("Daniel Okafor")
    holder = live_demo.persona("Jack Pearson")
    with live_demo.signed_in(agent["user_id"]) as api:
        mine = api.get(
            "/api/v1/certificates/", params={"person": holder["user_id"], "status": "valid"}
        )
        valid = api.get("/api/v1/certificates/", params={"status": "valid", "limit": 50})
        assert mine.status_code == valid.status_code == 200, (mine.text, valid.text)
        jacks = mine.json()["results"][0]["serial"]
        other = next(
            c["serial"]
            for c in valid.json()["results"]
            if c["person"]["user_id"] not in (agent["user_id"], holder["user_id"])
        )
        pems = {s: api.get(f"/api/v1/certificates/{s}/").json()["pem"] for s in (jacks, other)}
    assert _ocsp_status(base, pems[jacks]) == ocsp.OCSPCertStatus.GOOD

    page = new_page(browser)
    sign_in(page, base, agent)
    # From the home page's list of everything they can do, to where certificates are listed.
    page.get_by_role("main").get_by_role("link", name="Certificates", exact=True).click()
    page.get_by_role("link", name="Revoke certificates in bulk").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Revoke certificates in bulk")

    # A list with a mistake in it: every bad line reported at once, nothing revoked.
    page.get_by_role("textbox", name="Serial numbers").fill(
        f"{jacks.upper()}\n{other}\nnot a serial\n"
    )
    page.get_by_label("Key compromise").check()
    page.get_by_role("button", name="Check the list").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("1 line cannot be revoked (line 3)")
    expect(page.locator("#refused-lines")).to_contain_text("not a certificate serial number")
    summary.get_by_role("link").first.click()
    expect(page.get_by_role("textbox", name="Serial numbers")).to_be_focused()
    assert _ocsp_status(base, pems[jacks]) == ocsp.OCSPCertStatus.GOOD

    # Corrected: the confirmation shows exactly what will be revoked.
    page.get_by_role("textbox", name="Serial numbers").fill(f"{jacks.upper()}\n{other}\n")
    page.get_by_role("button", name="Check the list").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Revoke 2 certificates?")
    expect(page.locator("table")).to_contain_text("Jack Pearson")
    page.get_by_role("button", name="Revoke 2 certificates").click()
    expect(page.locator(".nhsuk-panel")).to_contain_text("2 certificates revoked")
    expect(page.locator(".nhsuk-panel")).to_contain_text("key compromise")
    assert csp_violations(page) == []
    page.context.close()

    # The next people in the chain: any OCSP client, and the holder on their own page.
    assert _ocsp_status(base, pems[jacks]) == ocsp.OCSPCertStatus.REVOKED
    assert _ocsp_status(base, pems[other]) == ocsp.OCSPCertStatus.REVOKED
    page = new_page(browser)
    sign_in(page, base, holder)
    page.goto(f"{base}/certificates/{jacks}/")
    expect(page.locator("main")).to_contain_text("Revoked")
    expect(page.locator("main")).to_contain_text("key compromise")
    page.context.close()
