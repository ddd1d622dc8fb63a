"""The card journeys in headless Chromium, with `cis serve` and `cis-agent serve` as processes.

On the demo world: a holder at the LSA's pharmacy renews in the window and changes the passcode;
another locks the card with three wrong passcodes at sign-in, sees it locked, gets a code and
unlocks it; the LSA sees the lock and unlocks it with the holder present. Then the local agent
is abused: a page from another origin, a replayed, expired, foreign or signed-out task. Every
journey ends with `cis audit verify` intact. Screenshots go to docs/screenshots/ for the README.

The CIS page is served as a *public* address to Chromium (--ip-address-space-overrides), so
calling the agent on 127.0.0.1 meets Chromium's Local Network Access rule as a real deployment
does: the browser asks the person once to let CIS reach this computer (granted here as the
person would), and without that permission the page offers the agent's command instead.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import LiveCis, free_port
from tests.portal.journeys import (
    AGENT,
    CHROMIUM,
    SHOTS,
    AgentProcess,
    agent_env,
    chromium_args,
)

PASSCODE = "2468"
GARETH, MEGAN, PRIYA = "100000000010", "100000000012", "100000000009"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed"),
]


@dataclass
class World:
    live: LiveCis
    agent: AgentProcess
    reader: Path  # the folder the agent reads: a card file in it is a card in the reader
    wallet: Path  # card files not in the reader: the demo's card folder
    cards: dict[str, str]  # user id -> chip serial
    passcodes: dict[str, str]  # user id -> the passcode the card holds now
    env: dict[str, str]  # the agent's environment

    def eject(self) -> None:
        for held in self.reader.glob("*.card"):
            held.rename(self.wallet / held.name)

    def insert(self, user_id: str) -> None:
        self.eject()
        (self.wallet / f"{user_id}.card").rename(self.reader / f"{user_id}.card")

    def card_path(self, user_id: str) -> Path:
        inside = self.reader / f"{user_id}.card"
        return inside if inside.exists() else self.wallet / f"{user_id}.card"

    def query(self, code: str) -> Any:
        """A value from the installation, computed in `cis shell` and printed as JSON."""
        return json.loads(self.live.shell(f"import json\n{code}").strip().splitlines()[-1])

    def status(self, user_id: str) -> str:
        chip = self.cards[user_id]
        return str(
            self.query(
                "from cis.smartcards.models import Smartcard\n"
                f"print(json.dumps(Smartcard.objects.get(chip_serial='{chip}').status))"
            )
        )


def _issue(live: LiveCis, user_id: str, path: Path, validity_days: int | None = None) -> str:
    """A new virtual card for the holder, issued as the RA's console does; returns its chip."""
    if validity_days is not None:
        live.extra_env["CIS_CERT_VALIDITY_DAYS"] = str(validity_days)
    try:
        out = live.shell(
            "from pathlib import Path\n"
            "from cis.people.models import Person\n"
            "from cis.smartcards.provisioning import ensure_virtual_card\n"
            "from cis_card.virtual import VirtualCard\n"
            f"spec = ensure_virtual_card(holder=Person.objects.get(user_id='{user_id}'), "
            f"path=Path('{path}'), passcode='{PASSCODE}')\n"
            "print(VirtualCard(spec.removeprefix('virtual:')).serial())"
        )
    finally:
        live.extra_env.pop("CIS_CERT_VALIDITY_DAYS", None)
    return out.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("card-journeys")
    agent_port = free_port()
    live = LiveCis(base / "cis", extra_env={"CIS_AGENT_URL": f"http://127.0.0.1:{agent_port}"})
    live.data_dir.mkdir()
    reader, wallet = base / "reader", live.data_dir / "cards"
    reader.mkdir()
    agent = None
    try:
        live.load_demo()
        wallet.mkdir(exist_ok=True)
        cards = {
            # Thirty days left: in the renewal window.
            GARETH: _issue(live, GARETH, wallet / f"{GARETH}.card", validity_days=30),
            MEGAN: _issue(live, MEGAN, wallet / f"{MEGAN}.card"),
        }
        live.start()
        env = agent_env(base / "agent-home")
        agent = AgentProcess(live.url, f"virtual:{reader}", agent_port, env, base / "agent.log")
        yield World(
            env=env,
            live=live,
            agent=agent,
            reader=reader,
            wallet=wallet,
            cards=cards,
            passcodes={GARETH: PASSCODE, MEGAN: PASSCODE},
        )
    finally:
        if agent is not None:
            agent.stop()
        live.close()


@pytest.fixture(scope="module")
def browser(world: World) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - browser tests only

    port = world.live.port
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=chromium_args(port))
        try:
            yield launched
        finally:
            launched.close()


def _signed_in(browser: Any, world: World, user_id: str, *, allow_agent: bool = True) -> Any:
    """A fresh browser context signed in as the person (the demo's persona sign-in).

    allow_agent: the person answered "Allow" to Chromium's prompt to let CIS reach this
    computer's local network (the agent).
    """
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    if allow_agent:
        context.grant_permissions(["local-network-access"], origin=world.live.url)
    page = context.new_page()
    page.goto(f"{world.live.url}/sign-in/demo/")
    page.locator("form input[name=user_id]").first.evaluate(
        "(input, id) => { input.value = id; input.form.submit(); }", user_id
    )
    page.wait_for_url(f"{world.live.url}/")  # the home page: the sign-in page matches /**
    page.wait_for_load_state()
    return page


def _to_agent(page: Any, world: World) -> None:
    """The button took the page to the agent's own page (or the failure says what it showed)."""
    try:
        page.wait_for_url(f"{world.agent.url}/confirm/*", timeout=60_000)
    except Exception:  # noqa: BLE001 - turned into a failure that says what the page showed
        shown = page.locator("[data-card-task-error], [data-card-task-fallback]").all_inner_texts()
        pytest.fail(f"the page did not reach the agent: {shown}\n{world.agent.log.read_text()}")


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _confirm(page: Any, fields: dict[str, str], button: str, shot: str = "") -> None:
    """On the agent's own page: check what it shows, type the secrets there, confirm."""
    from playwright.sync_api import expect  # noqa: PLC0415

    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm this card task")
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    if shot:
        _shot(page, shot)
    page.get_by_role("button", name=button).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Done")


def _wrong_sign_ins(world: World, user_id: str) -> subprocess.CompletedProcess[str]:
    last = None
    for _ in range(3):
        last = subprocess.run(  # noqa: S603 - our own script
            [AGENT, "sign-in", "--server", world.live.url,
             "--card", f"virtual:{world.card_path(user_id)}", "--passcode-stdin"],
            input="0000\n", capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert last is not None
    return last


def _audit_intact(world: World) -> None:
    verified = world.live.cis("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_holder_renews_in_the_window_and_changes_the_passcode(world: World, browser: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    world.eject()
    # Without the browser's permission to reach the agent, the page offers the command instead,
    # with the card's SPEC filled in.
    blocked = _signed_in(browser, world, GARETH, allow_agent=False)
    blocked.goto(f"{world.live.url}/my-smartcard/")
    blocked.get_by_role("button", name="Renew my certificate").click()
    fallback = blocked.locator("[data-card-task-fallback]").first
    expect(fallback).to_be_visible()
    expect(fallback).to_contain_text(
        f"cis-agent renew --server {world.live.url} --card virtual:{world.wallet / GARETH}.card"
    )
    expect(fallback).to_contain_text("cis-agent serve --server")
    _shot(blocked, "holder-no-agent-fallback")
    blocked.context.close()
    world.insert(GARETH)

    page = _signed_in(browser, world, GARETH)
    page.goto(f"{world.live.url}/my-smartcard/")
    expect(page.get_by_text("Renew your certificate")).to_be_visible()
    _shot(page, "holder-renewal-due")
    page.get_by_role("button", name="Renew my certificate").click()
    _to_agent(page, world)
    expect(page.get_by_text("Renew the certificate").first).to_be_visible()
    expect(page.get_by_text(f"Card in the reader: {world.cards[GARETH]}")).to_be_visible()
    _confirm(
        page,
        {"Passcode": world.passcodes[GARETH]},
        "Renew the certificate",
        shot="agent-confirm-renewal",
    )
    _shot(page, "agent-renewed")
    page.get_by_role("link", name="Back to CIS").click()
    expect(page.get_by_text("Renew your certificate")).to_have_count(0)
    expect(page.get_by_text("Open now")).to_have_count(0)

    page.get_by_role("button", name="Change the passcode").click()
    _to_agent(page, world)
    new = "1357" if world.passcodes[GARETH] != "1357" else "2468"
    _confirm(
        page,
        {
            "Current passcode": world.passcodes[GARETH],
            "New passcode": new,
            "New passcode again": new,
        },
        "Change the passcode",
    )
    world.passcodes[GARETH] = new
    from cis_card.virtual import VirtualCard  # noqa: PLC0415

    VirtualCard(world.card_path(GARETH)).verify_passcode(new)
    _audit_intact(world)


def test_a_locked_card_reaches_cis_and_the_holder_unlocks_it_with_a_code(
    world: World, browser: Any
) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    world.insert(MEGAN)
    third = _wrong_sign_ins(world, MEGAN)
    assert third.returncode == 5, third.stderr
    assert world.status(MEGAN) == "locked", "the card reported itself, with no sign-in"

    page = _signed_in(browser, world, MEGAN)
    page.goto(f"{world.live.url}/my-smartcard/")
    section = page.locator(f"#card-{world.cards[MEGAN]}")
    expect(section.get_by_text("This card is locked")).to_be_visible()
    _shot(page, "holder-card-locked")
    section.get_by_role("link", name="Get a code").click()
    page.get_by_label("Text message to the mobile", exact=False).check()
    page.get_by_role("button", name="Send me a code").click()
    sms = (world.live.data_dir / "sms.jsonl").read_text().strip().splitlines()[-1]
    code = next(w for w in json.loads(sms)["body"].split() if w.strip(".").isdigit())
    code = code.strip(".")
    page.goto(f"{world.live.url}/my-smartcard/")
    page.locator(f"#card-{world.cards[MEGAN]}").get_by_role(
        "button", name="Unlock with the code"
    ).click()
    _to_agent(page, world)
    _confirm(
        page,
        {
            "The one-time code you were sent": code,
            "New passcode": "5555",
            "New passcode again": "5555",
        },
        "Unlock with a one-time code",
        shot="agent-confirm-self-unlock",
    )
    world.passcodes[MEGAN] = "5555"
    assert world.status(MEGAN) == "active"
    _audit_intact(world)


def test_the_lsa_sees_the_lock_and_unlocks_it_with_the_holder_present(
    world: World, browser: Any
) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    world.insert(MEGAN)
    _wrong_sign_ins(world, MEGAN)
    assert world.status(MEGAN) == "locked"
    page = _signed_in(browser, world, PRIYA)
    page.goto(f"{world.live.url}/smartcards/locked/")
    row = page.get_by_role("row").filter(has_text=world.cards[MEGAN])
    expect(row).to_be_visible()
    _shot(page, "lsa-locked-cards")
    row.get_by_role("button", name="Unlock with the holder present").click()
    _to_agent(page, world)
    _confirm(
        page,
        {"The holder's new passcode": "7777", "New passcode again": "7777"},
        "Unlock with the holder present",
        shot="agent-confirm-assisted-unlock",
    )
    world.passcodes[MEGAN] = "7777"
    page.get_by_role("link", name="Back to CIS").click()
    expect(page.get_by_role("row").filter(has_text=world.cards[MEGAN])).to_have_count(0)
    assert world.status(MEGAN) == "active"
    _audit_intact(world)


def _task(page: Any, world: World, kind: str, chip: str) -> dict[str, Any]:
    """Start a task as the page's own script does, and return what CIS answered."""
    answer: dict[str, Any] = page.evaluate(
        """async ([kind, chip]) => {
            const body = new FormData();
            body.append("kind", kind);
            body.append("card", chip);
            body.append("csrfmiddlewaretoken",
                document.querySelector("input[name=csrfmiddlewaretoken]").value);
            const r = await fetch("/card-tasks/new/", {method: "POST", body,
                headers: {"Accept": "application/json"}});
            return {status: r.status, ...(await r.json())};
        }""",
        [kind, chip],
    )
    return answer


def _hand(world: World, task: dict[str, Any]) -> httpx.Response:
    """What the CIS page's script sends the agent (from the CIS origin)."""
    return httpx.post(
        f"{world.agent.url}/tasks",
        json={"task": task["task"], "secret": task["secret"]},
        headers={"Origin": world.live.url},
        timeout=60,
    )


def _claimed(world: World, ref: str) -> bool:
    return bool(
        world.query(
            "from cis.smartcards.models import CardTask\n"
            f"print(json.dumps(CardTask.objects.get(ref='{ref}').claimed_at is not None))"
        )
    )


def test_abuse_of_the_local_agent_is_refused_and_changes_nothing(
    world: World, browser: Any
) -> None:
    from cis_card.virtual import VirtualCard  # noqa: PLC0415

    world.insert(GARETH)
    page = _signed_in(browser, world, GARETH)
    page.goto(f"{world.live.url}/my-smartcard/")

    # A page from another origin cannot even ask the agent whether it is there.
    evil_context = browser.new_context()
    # Even with the browser's permission to reach the local network, the agent says no.
    evil_context.grant_permissions(["local-network-access"], origin="https://evil.example")
    evil = evil_context.new_page()
    evil.route("https://evil.example/", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>x</title>"))  # fmt: skip
    evil.goto("https://evil.example/")
    stolen = _task(page, world, "change_passcode", world.cards[GARETH])
    assert stolen["status"] == 201, stolen
    outcome = evil.evaluate(
        """async ([agent, task, secret]) => {
            try {
                const r = await fetch(agent + "/tasks", {method: "POST",
                    headers: {"Content-Type": "application/json"},
                    body: JSON.stringify({task, secret})});
                return "answered " + r.status;
            } catch (e) { return "blocked"; }
        }""",
        [world.agent.url, stolen["task"], stolen["secret"]],
    )
    assert outcome == "blocked"
    assert not _claimed(world, stolen["task"])
    evil_context.close()

    # A task for another person's card is never made.
    theirs = _task(page, world, "change_passcode", world.cards[MEGAN])
    assert theirs["status"] in (403, 404), theirs

    # A task for another card than the one in the reader: refused before anything changes.
    world.insert(MEGAN)
    handed = _hand(world, stolen)
    assert handed.status_code == 201
    confirm = page.context.new_page()
    confirm.goto(handed.json()["confirm_url"])
    assert f"this task is for card {world.cards[GARETH]}" in confirm.content()
    assert confirm.get_by_role("button").count() == 0
    assert not _claimed(world, stolen["task"])
    world.insert(GARETH)

    # A replayed task: used once through the agent, then handed over again.
    confirm.goto(_hand(world, stolen).json()["confirm_url"])
    new = "1357" if world.passcodes[GARETH] != "1357" else "2468"
    _confirm(
        confirm,
        {
            "Current passcode": world.passcodes[GARETH],
            "New passcode": new,
            "New passcode again": new,
        },
        "Change the passcode",
    )
    world.passcodes[GARETH] = new
    replay = _hand(world, stolen)
    assert replay.status_code == 409
    assert "already used or expired" in replay.json()["error"]

    # An expired task.
    old = _task(page, world, "change_passcode", world.cards[GARETH])
    world.live.shell(
        "from cis.smartcards.models import CardTask\n"
        "from cis.core import clock\n"
        f"CardTask.objects.filter(ref='{old['task']}').update(expires_at=clock.now())"
    )
    assert _hand(world, old).status_code == 409
    assert not _claimed(world, old["task"])

    # A task whose browser has signed out since.
    late = _task(page, world, "change_passcode", world.cards[GARETH])
    page.get_by_role("button", name="Sign out").click()
    assert _hand(world, late).status_code == 409
    assert not _claimed(world, late["task"])

    VirtualCard(world.card_path(GARETH)).verify_passcode(world.passcodes[GARETH])
    _audit_intact(world)
