"""Every demo persona walks the portal in headless Chromium, from its home page, following every
link it can see (bounded): every page answers 2xx or a styled 403/404, has no axe-core violation
of any impact, shows no internal id, stored value or ISO timestamp, and fits a 320 px screen.
Each persona's home page is also kept as the README's screenshot of that role."""

from __future__ import annotations

import re
import shutil
from collections import Counter, deque
from collections.abc import Iterator
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest

from cis.demo.cast import PERSONAS
from tests.live import LiveCis

from .browsing import (
    NARROW,
    RECORD_CSP_JS,
    SCREENSHOTS,
    chromium,
    guide_shot,
    new_page,
    page_problems,
    sign_in,
    styled,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which("chromium") is None, reason="Debian's chromium is not installed"
    ),
]

FIRST_HOLDER = next(i for i, p in enumerate(PERSONAS) if p.right is None)
LOCKED_HOLDER = next(i for i, p in enumerate(PERSONAS) if p.card == "locked")
EXPIRED_HOLDER = next(i for i, p in enumerate(PERSONAS) if p.card == "expired")
PAGES_PER_PERSONA = 30
PAGES_PER_PATTERN = 1
# The same for everyone: checked once in a run, by whichever persona reaches them first.
SHARED_PREFIXES = ("/help/", "/cookies/", "/privacy/", "/accessibility/", "/catalogue/")
CHECKED_SHARED: set[str] = set()
# Not portal pages, or not to be followed by a crawler: signing out ends the walk.
SKIPPED_PREFIXES = (
    "/sign-out/",
    "/api/",
    "/pki/",
    "/static/",
    "/assets/",
    "/.well-known/",
    "/o/",
    "/healthz",
    "/cards/",
)
# Files to download (certificates, CSV exports), not pages.
DOWNLOADS = (".pem", ".der", ".crt", ".cer", ".csv", ".p7b", ".json")


def _pattern(path: str) -> str:
    """Pages of one kind share a pattern: a path part with a digit in it (a number, a user id,
    an ODS code, a card serial) becomes N."""
    parts = urlsplit(path)
    shape = re.sub(r"/[^/]*\d[^/]*", "/N", parts.path)
    return shape + (
        "?" + "&".join(sorted(k.split("=")[0] for k in parts.query.split("&")))
        if parts.query
        else ""
    )


def _links(page: Any, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    found = []
    for href in hrefs:
        url, _fragment = urldefrag(href)
        if not url.startswith(base):
            continue
        path = url[len(base) :] or "/"
        if path.startswith(SKIPPED_PREFIXES) or urlsplit(path).path.endswith(DOWNLOADS):
            continue
        found.append(path)
    return found


def crawl(page: Any, base: str) -> tuple[list[str], list[str]]:
    """Breadth first from the home page; returns the pages visited and what was wrong."""
    problems: list[str] = []
    visited: list[str] = []
    seen: set[str] = set()
    per_pattern: Counter[str] = Counter()
    queue: deque[str] = deque(["/"])
    while queue and len(visited) < PAGES_PER_PERSONA:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        if per_pattern[_pattern(path)] >= PAGES_PER_PATTERN:
            continue
        if path.startswith(SHARED_PREFIXES):
            if path in CHECKED_SHARED:
                continue
            CHECKED_SHARED.add(path)
        per_pattern[_pattern(path)] += 1
        response = page.goto(base + path)
        visited.append(path)
        status = response.status if response else 0
        if status >= 400 and not (status in (403, 404) and styled(page)):
            problems.append(f"{path}: answered {status}")
            continue
        problems += [f"{path}: {p}" for p in page_problems(page, narrow=True)]
        queue.extend(p for p in _links(page, base) if p not in seen)
    return visited, problems


# The demo served as on a health and care network: loopback is the allowed network and the
# trusted proxy, so a page fetched "through the proxy" from elsewhere meets the network refusal.
OUTSIDE = "203.0.113.9"


@pytest.fixture(scope="module")
def live_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCis]:
    live = LiveCis(
        tmp_path_factory.mktemp("crawl-demo"),
        extra_env={"CIS_ALLOWED_NETWORKS": "127.0.0.0/8", "CIS_TRUSTED_PROXIES": "127.0.0.1"},
    )
    try:
        live.load_demo()
        live.start()
        yield live
    finally:
        live.close()


@pytest.fixture(scope="module")
def browser() -> Any:
    with chromium() as launched:
        yield launched


@pytest.mark.parametrize(
    "index",
    range(len(PERSONAS)),
    ids=[(p.right.value if p.right else f"holder-{p.staff_number}") for p in PERSONAS],
)
def test_every_persona_page_is_accessible_and_reads_like_a_service(
    live_demo: Any, browser: Any, index: int
) -> None:
    persona = live_demo.personas[index]
    base = live_demo.url

    # The home page at desktop width, as the README shows it.
    page = new_page(browser)
    sign_in(page, base, persona)
    problems = [f"/ (desktop): {p}" for p in page_problems(page, narrow=False)]
    if PERSONAS[index].right is not None or index == FIRST_HOLDER:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", persona["role"].lower()).strip("-")
        page.screenshot(path=str(SCREENSHOTS / f"home-{slug}.png"), full_page=True)
    page.context.close()

    # Then every page it can reach, on a 320 px screen.
    narrow = new_page(browser, width=NARROW)
    sign_in(narrow, base, persona)
    visited, found = crawl(narrow, base)
    narrow.context.close()
    problems += found

    assert len(visited) > 3, f"{persona['name']} reached only {visited}"
    assert not problems, f"{persona['name']} ({persona['role']}):\n" + "\n".join(problems)


# Keyboard only: the journeys done with Tab, arrows, Space and Enter, never the mouse, each
# focused control visibly marked (the NHS focus style: yellow).

FOCUS_YELLOW = "rgb(255, 235, 59)"
FOCUSED_TEXT_JS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return '';
  const label = e.labels && e.labels.length ? e.labels[0].innerText : '';
  return (label || e.innerText || e.value || e.getAttribute('aria-label') || '').trim();
}"""
FOCUS_VISIBLE_JS = """() => {
  const e = document.activeElement;
  // A radio or checkbox is drawn by its label: the focus ring is the label's box.
  const boxed = e.type === 'radio' || e.type === 'checkbox';
  const s = boxed ? getComputedStyle(e.labels[0], '::before') : getComputedStyle(e);
  return s.backgroundColor + ' ' + s.boxShadow + ' ' + s.outlineColor;
}"""


def tab_to(page: Any, pattern: str, limit: int = 200) -> None:
    """Press Tab until the focused control's text matches; fail if it never does."""
    wanted = re.compile(pattern)
    for _ in range(limit):
        page.keyboard.press("Tab")
        if wanted.search(page.evaluate(FOCUSED_TEXT_JS)):
            assert FOCUS_YELLOW in page.evaluate(FOCUS_VISIBLE_JS), "focus is not visible"
            return
    raise AssertionError(f"Tab never reached {pattern!r} on {page.url}")


def test_an_ra_agent_approves_a_request_with_the_keyboard_alone(
    live_demo: Any, browser: Any
) -> None:
    base = live_demo.url
    page = new_page(browser)
    sign_in(page, base, live_demo.persona("RA Agent"))
    # The home page lists the queue, soonest due first: the first request that is not a new
    # registration (which needs the identity check's answers too).
    page.locator("#ra-heading").scroll_into_view_if_needed()
    guide_shot(page, "approve-1-queue")
    tab_to(page, r"^(Issue a new card|Replace a card|Change personal details|Add a position) ")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/requests/\d+/$"))
    guide_shot(page, "approve-2-request")
    tab_to(page, r"^Approve$")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/requests/\d+/approve/$"))
    guide_shot(page, "approve-3-confirm")
    tab_to(page, r"^Approve$")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/requests/\d+/$"))
    banner = page.locator(".nhsuk-notification-banner--success")
    assert banner.count() == 1, page.content()
    guide_shot(page, "approve-4-approved")
    assert "Approve" not in [b.inner_text() for b in page.get_by_role("button").all()]
    page.context.close()


def test_a_holder_starts_unlocking_their_card_with_the_keyboard_alone(
    live_demo: Any, browser: Any
) -> None:
    """The portal's part of self-unlock, for the holder whose card is locked: from the home
    page to their card, get a code, choose where it goes and send it. Typing the code and the
    new passcode is the card task, done in the agent."""
    base = live_demo.url
    holder = live_demo.personas[LOCKED_HOLDER]
    page = new_page(browser)
    sign_in(page, base, holder)
    tab_to(page, r"^Go to your smartcard$")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/my-smartcard/")
    guide_shot(page, "self-unlock-1-locked")
    tab_to(page, r"^Get a code$")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/my-smartcard/[^/]+/unlock/$"))
    tab_to(page, r"(Text message|Email) to")
    page.keyboard.press("Space")
    guide_shot(page, "self-unlock-2-choose")
    tab_to(page, r"^Send me a code$")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/my-smartcard/")
    assert "We sent a code to" in page.locator(".nhsuk-notification-banner").inner_text()
    guide_shot(page, "self-unlock-3-sent")
    page.context.close()


def test_error_states_confirmations_and_error_pages_are_accessible(
    live_demo: Any, browser: Any
) -> None:
    """The states a crawl of links does not reach: a form with errors, a confirmation, an
    expired form (CSRF) with its answers kept, a refusal and a missing page."""
    base = live_demo.url
    problems: list[str] = []

    def check(page: Any, what: str) -> None:
        assert styled(page), f"{what} is not an NHS page"
        problems.extend(f"{what}: {p}" for p in page_problems(page, narrow=True))

    page = new_page(browser)
    page.goto(f"{base}/sign-in/")
    guide_shot(page, "sign-in")
    page.context.close()

    page = new_page(browser, width=NARROW)
    page.goto(f"{base}/sign-in/")
    check(page, "sign-in")
    page.goto(f"{base}/no-such-page/")
    check(page, "404 signed out")

    sign_in(page, base, live_demo.personas[FIRST_HOLDER])
    check(page, "signed-in confirmation")
    page.goto(f"{base}/people/new/")
    check(page, "403")
    page.goto(f"{base}/no-such-page/")
    check(page, "404 signed in")

    # Every error at once, linked to its field, in NHS words.
    page.goto(f"{base}/my-details/email/")
    page.get_by_label("New email address").fill("grace@")
    page.get_by_role("button", name=re.compile("Send|Continue")).click()
    summary = page.locator(".nhsuk-error-summary")
    assert "Enter an email address in the correct format" in summary.inner_text()
    assert "grace@" not in summary.inner_text()
    check(page, "form with an error")

    # The page expires (the CSRF cookie is lost): the answer is kept for the form.
    page.context.clear_cookies(name="csrftoken")
    page.get_by_label("New email address").fill("hana.new@example.nhs.uk")
    page.get_by_role("button", name=re.compile("Send|Continue")).click()
    assert "This page has expired" in page.locator("h1").inner_text()
    check(page, "expired form")
    page.get_by_role("link", name="Go back to the form").click()
    assert page.get_by_label("New email address").input_value() == "hana.new@example.nhs.uk"

    # Sent again: the confirmation page asks for the code.
    page.get_by_role("button", name=re.compile("Send|Continue")).click()
    check(page, "code sent")
    page.set_viewport_size({"width": 1024, "height": 800})
    guide_shot(page, "contact-code-sent")
    page.context.close()
    assert not problems, "\n".join(problems)


# Help where people get stuck: each refusal the issue names links to help, and the link leads to
# a styled help page that answers (followed as a person would, by clicking it).


def _follow(page: Any, link: str, what: str) -> str:
    page.get_by_role("link", name=link).first.click()
    page.wait_for_load_state()
    assert "/help/" in page.url, f"{what}: '{link}' went to {page.url}"
    assert styled(page), f"{what}: '{link}' led to a page that is not an NHS page"
    problems = page_problems(page, narrow=True)
    assert not problems, f"{what}: {page.url}:\n" + "\n".join(problems)
    return str(page.url)


def test_each_refusal_page_links_to_help_that_opens(live_demo: Any, browser: Any) -> None:
    base = live_demo.url

    # The sign-in page, signed out.
    page = new_page(browser, width=NARROW)
    page.goto(f"{base}/sign-in/")
    assert "/help/card-not-working/" in _follow(page, "my smartcard is not working", "sign-in")
    page.goto(f"{base}/sign-in/")
    _follow(page, "what you need to use this service", "sign-in")
    page.context.close()

    # A locked card, and an expired certificate, on the holder's own card page.
    for index, link in ((LOCKED_HOLDER, "Help with a locked card"),
                        (EXPIRED_HOLDER, "Help with an expired certificate")):  # fmt: skip
        page = new_page(browser, width=NARROW)
        sign_in(page, base, live_demo.personas[index])
        page.goto(f"{base}/my-smartcard/")
        landed = _follow(page, link, link)
        anchor = landed.partition("#")[2]
        assert anchor and page.locator(f"[id='{anchor}']").count() == 1, landed
        page.context.close()

    # A refused request, seen by the Sponsor who raised it.
    page = new_page(browser, width=NARROW)
    sign_in(page, base, live_demo.persona("Sponsor"))
    page.goto(f"{base}/requests/?view=mine")
    page.locator("tr", has_text="Rejected").first.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/requests/\d+/$"))
    assert "/help/who-can-help/" in _follow(page, "find out who can help", "refused request")
    page.context.close()

    # The network refusal: the same server, reached from outside the allowed networks.
    context = browser.new_context(
        viewport={"width": NARROW, "height": 800}, extra_http_headers={"X-Forwarded-For": OUTSIDE}
    )
    context.add_init_script(RECORD_CSP_JS)
    page = context.new_page()
    refused = page.goto(f"{base}/sign-in/")
    assert refused is not None and refused.status == 403
    assert "You cannot use this service from this network" in page.locator("h1").inner_text()
    assert styled(page), "the network refusal page is not an NHS page"
    problems = page_problems(page, narrow=True)
    assert not problems, "network refusal:\n" + "\n".join(problems)
    _follow(page, "how to check your network connection", "network refusal")
    context.close()
