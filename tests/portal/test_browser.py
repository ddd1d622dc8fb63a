"""One real journey in headless Chromium: persona sign-in, the directory, and a verified email."""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest
from django.core import mail

from cis.people.models import Person

from .conftest import build_world

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NHS_BLUE = "rgb(0, 94, 184)"
# Kept for a person to look at: the styled home page as a browser draws it.
SCREENSHOT = "/tmp/portal-home.png"  # noqa: S108 - a fixed, well-known place to find it

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed"),
]


def _sign_in_as(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/sign-in/")
    page.get_by_role("link", name="Sign in as a demonstration person").click()
    page.get_by_role("button", name=f"Sign in as {name}").first.click()
    page.wait_for_url(f"{base}/")


def test_an_ra_agent_finds_a_person_and_a_holder_changes_their_email(live_server: Any) -> None:
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 - browser tests only

    world = build_world()
    holder_id = world.holder.user_id
    base = live_server.url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})

            _sign_in_as(page, base, "Ra Agent Admin")
            expect(page.get_by_role("heading", level=1)).to_contain_text("Hello, Ra Agent")
            # The NHS.UK stylesheet and script really loaded: blue header, frontend initialised.
            header = page.locator("header.nhsuk-header")
            assert header.evaluate("e => getComputedStyle(e).backgroundColor") == NHS_BLUE
            expect(page.locator("body")).to_have_class(re.compile("nhsuk-frontend-supported"))
            page.screenshot(path=SCREENSHOT, full_page=True)

            page.get_by_role("navigation", name="Menu").get_by_role(
                "link", name="Find a person"
            ).click()
            page.get_by_label("Name, user id or email address").fill("Holder")
            page.get_by_role("button", name="Search").click()
            page.get_by_role("link", name="HOLDER, Hana").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Hana Holder")
            expect(page.locator(".nhsuk-caption-l")).to_contain_text(f"User id {holder_id}")
            expect(page.get_by_role("link", name="Add a position")).to_be_visible()

            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_text("You have signed out.")).to_be_visible()

            _sign_in_as(page, base, "Hana Holder")
            page.get_by_role("navigation", name="Menu").get_by_role(
                "link", name="My details"
            ).click()
            page.get_by_role("link", name="Change email address").click()
            page.get_by_label("New email address").fill("not an email")
            page.get_by_role("button", name="Send a code").click()
            summary = page.locator(".nhsuk-error-summary")
            expect(summary).to_contain_text("Enter an email address in the correct format")
            # The summary's link takes the reader to the field.
            summary.get_by_role("link").click()
            expect(page.get_by_label("New email address")).to_be_focused()

            page.get_by_label("New email address").fill("hana.holder@nhs.example")
            page.get_by_role("button", name="Send a code").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Enter the code")
            message = mail.outbox[-1]
            assert message.to == ["hana.holder@nhs.example"]
            code = re.search(r"\b(\d{6})\b", message.body)
            assert code is not None
            page.get_by_label("Code").fill(code.group(1))
            page.get_by_role("button", name="Confirm").click()
            expect(page.locator(".nhsuk-notification-banner--success")).to_contain_text(
                "Your email address is now hana.holder@nhs.example."
            )
        finally:
            browser.close()
    assert Person.objects.get(user_id=holder_id).email == "hana.holder@nhs.example"
