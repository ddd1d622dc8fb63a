"""The request journeys in headless Chromium, with `cis serve` and `cis-agent serve` as processes.

On the demo world: a Sponsor finds a new starter and asks for a card; an RA Agent approves it and
issues the card from the request's page, through the agent at the RA's workstation on a blank
virtual card, and the Sponsor sees the request applied with a link to the card. A replacement
closes the same way. A request nobody answers escalates to the service desk, which comments and
reassigns it to an RA Agent, who approves it, and the Sponsor sees the outcome. Nobody types a
card SPEC. Each ends with `cis audit verify` intact. The screenshots are the README's
(docs/screenshots/).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import LiveCis, free_port
from tests.portal.journeys import CHROMIUM, SHOTS, AgentProcess, agent_env, chromium_args

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed"),
]
SAM, GARETH, CHLOE = "100000000046", "100000000010", "100000000011"


@dataclass
class Workstation:
    """The RA's workstation: `cis-agent serve` reading one folder as its card reader."""

    live: LiveCis
    agent: AgentProcess
    reader: Path  # a card file in it is a card in the reader
    wallet: Path  # the demo's card folder: cards not in the reader

    def insert(self, name: str) -> Path:
        self.eject()
        card = self.reader / name
        (self.wallet / name).rename(card)
        return card

    def eject(self) -> None:
        """Every card in the reader back to its holder's wallet, as the next test expects."""
        for held in self.reader.glob("*.card"):
            held.rename(self.wallet / held.name)

    def query(self, code: str) -> Any:
        """A value from the installation, computed in `cis shell` and printed as JSON."""
        return json.loads(self.live.shell(f"import json\n{code}").strip().splitlines()[-1])


@pytest.fixture(scope="module")
def workstation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workstation]:
    base = tmp_path_factory.mktemp("request-journeys")
    agent_port = free_port()
    live = LiveCis(base / "cis", extra_env={"CIS_AGENT_URL": f"http://127.0.0.1:{agent_port}"})
    live.data_dir.mkdir()
    reader = base / "reader"
    reader.mkdir()
    agent = None
    try:
        live.load_demo()
        live.start()
        agent = AgentProcess(
            live.url,
            f"virtual:{reader}",
            agent_port,
            agent_env(base / "agent-home"),
            base / "agent.log",
        )
        yield Workstation(live=live, agent=agent, reader=reader, wallet=live.data_dir / "cards")
    finally:
        if agent is not None:
            agent.stop()
        live.close()


@pytest.fixture(scope="module")
def chromium(workstation: Workstation) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - browser tests only

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=chromium_args(workstation.live.port)
        )
        try:
            yield browser
        finally:
            browser.close()


class Portal:
    """One person's browser on the demo portal (allowed, when asked, to reach the agent)."""

    def __init__(self, browser: Any, live: LiveCis, name: str) -> None:
        self.live = live
        self.context = browser.new_context(viewport={"width": 1100, "height": 900})
        self.context.grant_permissions(["local-network-access"], origin=live.url)
        self.page = self.context.new_page()
        self.page.goto(f"{live.url}/sign-in/demo/")
        self.page.get_by_role("button", name=f"Sign in as {name}").first.click()
        self.page.wait_for_url(f"{live.url}/")

    def go(self, path: str) -> Any:
        self.page.goto(f"{self.live.url}{path}")
        return self.page

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


def request_id_from(url: str) -> str:
    found = re.search(r"/requests/(\d+)/", url)
    assert found, url
    return found.group(1)


def approve(ra_agent: Portal, request_id: str, shot: str = "") -> Any:
    """The RA Agent approves the request on its page; the page stays open for the next step."""
    from playwright.sync_api import expect  # noqa: PLC0415 - browser tests only

    page = ra_agent.go(f"/requests/{request_id}/")
    # The request page's actions are links drawn as buttons (role=button).
    page.get_by_role("button", name="Approve", exact=True).click()
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("Approved: awaiting card").first).to_be_visible()
    if shot:
        ra_agent.shot(shot)
    return page


def through_the_agent(
    ra_agent: Portal,
    workstation: Workstation,
    button: str,
    typed: dict[str, str],
    confirm: str,
    *,
    shot: str = "",
) -> None:
    """The request page's card button hands the task to the agent; on the agent's own page the
    holder types the passcode; back in CIS, the request page shows what happened."""
    from playwright.sync_api import expect  # noqa: PLC0415 - browser tests only

    page = ra_agent.page
    page.get_by_role("button", name=button).click()
    try:
        page.wait_for_url(f"{workstation.agent.url}/confirm/*", timeout=60_000)
    except Exception:  # noqa: BLE001 - turned into a failure that says what the page showed
        shown = page.locator("[data-card-task-error], [data-card-task-fallback]").all_inner_texts()
        pytest.fail(
            f"the page did not reach the agent: {shown}\n{workstation.agent.log.read_text()}"
        )
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm this card task")
    for label, value in typed.items():
        page.get_by_label(label, exact=True).fill(value)
    if shot:
        ra_agent.shot(shot)
    page.get_by_role("button", name=confirm).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Done")
    page.get_by_role("link", name="Back to CIS").click()
    page.wait_for_url(f"{workstation.live.url}/requests/**")


def new_passcode(passcode: str) -> dict[str, str]:
    """What the holder types on the agent's page for a new card."""
    return {"The holder's new passcode": passcode, "New passcode again": passcode}


def audit_intact(live: LiveCis) -> None:
    verified = live.cis("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact" in verified.stdout


def test_a_sponsor_finds_a_new_starter_and_requests_a_card_which_closes_when_issued(
    chromium: Any, workstation: Workstation
) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415 - browser tests only

    live = workstation.live
    sponsor = Portal(chromium, live, "Richard Ashworth")
    ra_agent = Portal(chromium, live, "Daniel Okafor")
    try:
        page = sponsor.go("/people/")
        page.get_by_label("Name, user id or email address").fill("Whitworth")
        page.get_by_role("button", name="Search", exact=True).first.click()
        page.get_by_role("link", name=re.compile("Whitworth", re.IGNORECASE)).first.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Sam Whitworth")
        sponsor.shot("journey-new-card-1-person-page")
        page.get_by_role("link", name="Request a card").click()
        expect(page.get_by_text("This request is about")).to_contain_text("Sam Whitworth")
        page.get_by_label("Anything the RA should know (optional)").fill("Starts on Monday.")
        page.get_by_role("button", name="Send the request").click()
        expect(page.get_by_text("Submitted").first).to_be_visible()
        request_id = request_id_from(page.url)
        sponsor.shot("journey-new-card-2-requested")

        page = approve(ra_agent, request_id, shot="journey-new-card-3-approved")
        # Sam is at the RA's workstation; a blank card goes into the reader.
        workstation.insert("blank-1.card")
        through_the_agent(
            ra_agent,
            workstation,
            "Issue the card",
            new_passcode("1357"),
            "Issue a new card",
            shot="journey-new-card-4-agent",
        )
        expect(page.get_by_text("Applied").first).to_be_visible()

        page = sponsor.go(f"/requests/{request_id}/")
        expect(page.get_by_text("Applied").first).to_be_visible()
        card_link = page.get_by_role("link", name=re.compile(r"^card ", re.IGNORECASE)).first
        expect(card_link).to_be_visible()
        sponsor.shot("journey-new-card-5-applied")
        card_link.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Card")
    finally:
        sponsor.close()
        ra_agent.close()
    assert (
        workstation.query(
            "from cis.smartcards.models import Smartcard\n"
            f"print(json.dumps(Smartcard.objects.get(holder__user_id='{SAM}').status))"
        )
        == "active"
    )
    audit_intact(live)


def test_a_sponsor_requests_a_replacement_which_closes_when_the_card_is_replaced(
    chromium: Any, workstation: Workstation
) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415 - browser tests only

    live = workstation.live
    gareth = live.persona("Gareth Lloyd")
    old_card = json.loads(Path(gareth["card"].removeprefix("virtual:")).read_text())["serial"]
    sponsor = Portal(chromium, live, "Richard Ashworth")
    ra_agent = Portal(chromium, live, "Daniel Okafor")
    try:
        page = sponsor.go(f"/people/{GARETH}/")
        page.get_by_role("link", name="Request a replacement card").click()
        page.get_by_label("Damaged").check()
        page.get_by_label("Serial of the old card (optional)").fill(old_card)
        page.get_by_role("button", name="Send the request").click()
        expect(page.get_by_text("Submitted").first).to_be_visible()
        request_id = request_id_from(page.url)
        sponsor.shot("journey-replacement-1-requested")

        page = approve(ra_agent, request_id)
        # The reason the Sponsor gave is already chosen.
        expect(page.get_by_label("Why is the card being replaced?")).to_have_value("damaged")
        workstation.insert("blank-2.card")
        through_the_agent(
            ra_agent, workstation, "Replace the card", new_passcode("2468"), "Replace the card"
        )
        expect(page.get_by_text("Applied").first).to_be_visible()

        page = sponsor.go(f"/requests/{request_id}/")
        expect(page.get_by_text("Applied").first).to_be_visible()
        sponsor.shot("journey-replacement-2-applied")
    finally:
        sponsor.close()
        ra_agent.close()
    assert workstation.query(
        "from cis.smartcards.models import Smartcard\n"
        f"old = Smartcard.objects.get(chip_serial='{old_card}', holder__user_id='{GARETH}')\n"
        "print(json.dumps([old.status, old.cancel_reason, old.replaced_by.status]))"
    ) == ["cancelled", "damaged", "active"]
    audit_intact(live)


def test_a_request_escalates_to_the_service_desk_which_hands_it_to_an_ra_agent_who_approves(
    chromium: Any, workstation: Workstation
) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415 - browser tests only

    live = workstation.live
    daniel = live.persona("Daniel Okafor")["user_id"]
    sponsor = Portal(chromium, live, "Richard Ashworth")
    try:
        page = sponsor.go(f"/people/{CHLOE}/")
        page.get_by_role("link", name="Request renewal of their expired certificate").click()
        page.get_by_role("button", name="Send the request").click()
        expect(page.get_by_text("Submitted").first).to_be_visible()
        request_id = request_id_from(page.url)
        ref = page.locator("h1 .nhsuk-caption-l").inner_text().strip(" -\n")
        # Nobody at the RA answers: the Sponsor chases it to the RA Manager.
        page.get_by_role("button", name="Escalate", exact=True).click()
        page.get_by_label("Reason").fill("Chloe cannot dispense and nobody has answered.")
        page.get_by_role("button", name="Escalate", exact=True).click()
        expect(page.get_by_text("Escalated to RA Manager").first).to_be_visible()
    finally:
        sponsor.close()

    # The RA Manager does not answer by the due time either. The due time is moved into the past
    # (the server's clock cannot be), and the scheduled job escalates it to the service desk.
    live.shell(
        "import datetime as dt\n"
        "from cis.core import clock\n"
        "from cis.workflow.models import Request\n"
        f"Request.objects.filter(pk={request_id})"
        ".update(due_at=clock.now() - dt.timedelta(minutes=1))"
    )
    live.cis("jobs", "run", "--only", "escalate-requests")

    desk = Portal(chromium, live, "Sophie Brennan")
    try:
        page = desk.go("/requests/?view=escalated")
        page.get_by_role("link", name=ref, exact=True).click()
        expect(page.get_by_text("Escalated to service desk").first).to_be_visible()
        expect(page.get_by_role("heading", name="Who to contact")).to_be_visible()
        desk.shot("journey-escalation-1-at-the-service-desk")
        page.get_by_label("Add a comment").fill("Called the RA: handing this to Daniel Okafor.")
        page.get_by_role("button", name="Add the comment").click()
        expect(page.get_by_text("Your comment has been added.").first).to_be_visible()
        page.get_by_role("button", name="Reassign to an RA Agent").click()
        page.get_by_label("RA Agent to hand it to").select_option(value=daniel)
        page.get_by_label("What they should know (optional)").fill("Chloe is in on Friday.")
        page.get_by_role("button", name="Reassign", exact=True).click()
        expect(page.get_by_text(f"{ref} is now with Daniel Okafor").first).to_be_visible()
        expect(page.get_by_text("Assigned to Daniel Okafor").first).to_be_visible()
        desk.shot("journey-escalation-2-reassigned")
    finally:
        desk.close()

    # Daniel approves it; Chloe comes to the RA's workstation with her card, and he renews it
    # from the request's page, Chloe typing her passcode on the agent's page.
    chloe = live.persona("Chloe Barker")
    ra_agent = Portal(chromium, live, "Daniel Okafor")
    try:
        page = approve(ra_agent, request_id)
        workstation.insert(Path(chloe["card"].removeprefix("virtual:")).name)
        through_the_agent(
            ra_agent,
            workstation,
            "Renew the certificate",
            {"Passcode": chloe["passcode"]},
            "Renew the certificate",
        )
        expect(page.get_by_text("Applied").first).to_be_visible()
    finally:
        ra_agent.close()

    sponsor = Portal(chromium, live, "Richard Ashworth")
    try:
        page = sponsor.go(f"/requests/{request_id}/")
        expect(page.get_by_text("Applied").first).to_be_visible()
        history = page.locator("h2:has-text('History') + ol")
        expect(history).to_contain_text("Called the RA: handing this to Daniel Okafor.")
        expect(history).to_contain_text("To Daniel Okafor")
        expect(page.get_by_role("table", name="Escalations")).to_contain_text("Closed")
        sponsor.shot("journey-escalation-4-the-sponsor-sees-it")
    finally:
        sponsor.close()
    audit_intact(live)


def _start_task(page: Any, fields: dict[str, str]) -> dict[str, Any]:
    """Start a card task as the portal page's own script does; what CIS answered."""
    answer: dict[str, Any] = page.evaluate(
        """async (fields) => {
            const body = new FormData();
            for (const [k, v] of Object.entries(fields)) body.append(k, v);
            body.append("csrfmiddlewaretoken",
                document.querySelector("input[name=csrfmiddlewaretoken]").value);
            const r = await fetch("/card-tasks/new/", {method: "POST", body,
                headers: {"Accept": "application/json"}});
            return {status: r.status, ...(await r.json().catch(() => ({})))};
        }""",
        fields,
    )
    return answer


def test_issuing_through_the_agent_is_refused_to_whoever_may_not_and_changes_nothing(
    chromium: Any, workstation: Workstation
) -> None:
    """Abuse of the issue task: another origin, a Sponsor, a card in the reader not blank."""
    live = workstation.live
    olivia = live.persona("Olivia Turner")["user_id"]
    count = (
        "from cis.smartcards.models import CardTask\nprint(json.dumps(CardTask.objects.count()))"
    )
    before = workstation.query(count)
    cards = (
        "from cis.smartcards.models import Smartcard\n"
        f"print(json.dumps(Smartcard.objects.filter(holder__user_id='{olivia}').count()))"
    )
    cards_before = workstation.query(cards)

    # A page from another origin, in the RA Agent's own signed-in browser, cannot start one.
    ra_agent = Portal(chromium, live, "Daniel Okafor")
    evil = ra_agent.context.new_page()
    evil.route(
        "https://evil.example/",
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<!doctype html><title>x</title>"
        ),
    )
    evil.goto("https://evil.example/")
    evil.evaluate(
        """async ([cis, holder]) => {
            const body = new FormData();
            body.append("kind", "issue");
            body.append("holder", holder);
            try {
                const r = await fetch(cis + "/card-tasks/new/", {method: "POST", body,
                    credentials: "include", mode: "no-cors"});
                return r.type;
            } catch (e) { return "blocked"; }
        }""",
        [live.url, olivia],
    )
    assert workstation.query(count) == before, "no task from another origin"

    # A Sponsor may ask for a card, never issue one.
    sponsor = Portal(chromium, live, "Richard Ashworth")
    try:
        refused = _start_task(sponsor.page, {"kind": "issue", "holder": olivia})
        assert refused["status"] == 403, refused
    finally:
        sponsor.close()
    assert workstation.query(count) == before

    # The RA Agent's task, with a card in the reader that is already issued: the agent's page
    # says so and offers nothing to confirm; CIS never hears of a claim.
    try:
        ra_agent.go(f"/people/{olivia}/")
        task = _start_task(ra_agent.page, {"kind": "issue", "holder": olivia})
        assert task["status"] == 201, task
        workstation.insert(f"{GARETH}.card")
        handed = httpx.post(
            f"{workstation.agent.url}/tasks",
            json={"task": task["task"], "secret": task["secret"]},
            headers={"Origin": live.url},
            timeout=60,
        )
        assert handed.status_code == 201, handed.text
        ra_agent.page.goto(handed.json()["confirm_url"])
        assert "is already issued. Insert a blank card" in ra_agent.page.content()
        assert ra_agent.page.get_by_role("button").count() == 0
    finally:
        ra_agent.close()
        workstation.eject()  # Gareth takes his card back
    assert not workstation.query(
        "from cis.smartcards.models import CardTask\n"
        f"print(json.dumps(CardTask.objects.get(ref='{task['task']}').claimed_at is not None))"
    )
    assert workstation.query(cards) == cards_before, "no card issued"
    audit_intact(live)
