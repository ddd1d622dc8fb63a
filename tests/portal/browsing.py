"""What the portal's browser tests share: Debian's Chromium, persona sign-in, axe-core, and the
checks every page must pass (no accessibility violation, nothing the Content-Security-Policy
blocks, no sideways scroll at 320 px, no internal value in the text)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
# Pinned in package.json and installed by `make install`, never copied in.
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
NARROW = 320

# Text no page may show: what a database holds rather than what a person reads.
FORBIDDEN_TEXT: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})"), "an ISO timestamp"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "an ISO date"),
    (re.compile(r"\b[a-z]+\.[a-z]+(?:_[a-z]+)+\b"), "an action's internal name"),
    (re.compile(r"\b[a-z]+(?:_[a-z]+)+\b"), "a stored value"),
    (
        re.compile(r"\b(?:person|card|request|position|organisation|grant):\d+"),
        "an internal reference",
    ),
    (
        re.compile(
            r"\b(?:[Pp]osition|[Rr]equest|[Cc]ard|[Aa]ssignment|[Gg]rant|[Rr]ight)"
            r" (?:id )?#?\d{1,6}\b"
        ),
        "an internal id",
    ),
    # A whole cell or line that is only a Python value ("None recorded" is English).
    (re.compile(r"(?:^|[\t\n])[ ]*(?:None|True|False)[ ]*(?=[\t\n]|$)"), "a Python value"),
]

# The page's text as a person reads it, without code samples (commands may name options).
VISIBLE_TEXT_JS = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('code, pre, script, style, [hidden]').forEach(e => e.remove());
  return copy.innerText;
}"""

AXE_RUN_JS = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))
  }));
}"""


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - browser tests only

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# Every Content-Security-Policy violation on a page, recorded before any of the page's own code
# runs (an init script is the browser's, so the policy does not govern it).
RECORD_CSP_JS = """window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(
  e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline code') + ' at ' +
  (e.sourceFile || 'the page') + ':' + e.lineNumber));"""


def new_page(browser: Any, width: int = 1024) -> Any:
    """A page in a fresh context, under the policy CIS sends (never bypassed)."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    context.add_init_script(RECORD_CSP_JS)
    return context.new_page()


def sign_in(page: Any, base: str, persona: dict[str, Any]) -> None:
    """Sign in as a demo persona through the persona sign-in form, as a person would. The page
    lists a few plain card holders; one it does not list is signed in through the same form."""
    page.goto(f"{base}/sign-in/demo/")
    button = page.get_by_role("button", name=f"Sign in as {persona['name']}")
    if button.count():
        button.first.click()
    else:
        form = page.locator("form:has(input[name=user_id])").first
        form.locator("input[name=user_id]").evaluate("(e, v) => e.value = v", persona["user_id"])
        form.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/")


def csp_violations(page: Any) -> list[str]:
    """What the Content-Security-Policy blocked (or, report-only, would have) on this page."""
    return list(page.evaluate("() => window.__cspViolations || []"))


def axe_violations(page: Any) -> list[dict[str, Any]]:
    # Evaluated by the test's own browser connection, which the page's policy does not govern;
    # a <script> tag added to the page would be refused by it, as it should be.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    return list(page.evaluate(AXE_RUN_JS))


def text_problems(page: Any) -> list[str]:
    text = page.evaluate(VISIBLE_TEXT_JS)
    problems = []
    for pattern, what in FORBIDDEN_TEXT:
        for match in pattern.finditer(text):
            around = text[max(match.start() - 30, 0) : match.end() + 30].replace("\n", " ")
            problems.append(f"{what} {match.group(0)!r} in '…{around}…'")
            break
    return problems


def overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0: no sideways scroll)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


def page_problems(page: Any, *, narrow: bool) -> list[str]:
    """Everything wrong with the page now shown: axe, its text, and (when narrow) its width."""
    problems = [f"CSP {v}" for v in csp_violations(page)]
    problems += [
        f"axe {v['id']} ({v['impact']}) at {', '.join(v['nodes'])}" for v in axe_violations(page)
    ]
    problems += text_problems(page)
    if narrow and (extra := overflow(page)) > 0:
        problems.append(f"{extra} px wider than a {NARROW} px screen")
    return problems


def guide_shot(page: Any, name: str) -> None:
    """A screenshot of the window as a person sees it at this step of a journey, for the help's
    step-by-step guides (served from docs/screenshots/ as /static/screenshots/guide-NAME.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"guide-{name}.png"))


def styled(page: Any) -> bool:
    """An NHS-styled page: the header and one main landmark with a heading."""
    return bool(
        page.locator("header.nhsuk-header").count() == 1 and page.locator("main h1").count() >= 1
    )
