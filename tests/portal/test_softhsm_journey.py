"""A card journey in headless Chromium on a real PKCS#11 token (SoftHSM2), not a virtual card.

`cis-agent serve` runs as its own process with `--reader pkcs11:MODULE`: it finds the token in
SoftHSM's slots by itself, as it would a card in a reader through OpenSC. On the demo world, the
RA Agent issues the new starter's card on a blank token from his page, and the holder then
changes its passcode from "My smartcard". Nobody types a card SPEC; no passcode passes through
the CIS page. Ends with `cis audit verify` intact.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.live import LiveCis, free_port
from tests.portal.journeys import CHROMIUM, SHOTS, AgentProcess, agent_env, chromium_args

SOFTHSM_MODULE = os.environ.get("CIS_TEST_SOFTHSM_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
TRANSPORT_SO_PIN = "12345678"
SAM = "100000000046"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed"),
    pytest.mark.skipif(
        not Path(SOFTHSM_MODULE).exists() or shutil.which("softhsm2-util") is None,
        reason="SoftHSM2 is not installed (make system-deps installs it)",
    ),
]


@dataclass
class Token:
    """The SoftHSM2 token in the workstation's reader, and the environment that sees it."""

    label: str
    env: dict[str, str]

    def serial(self) -> str:
        return self._card("print(card.serial())")

    def verify_passcode(self, passcode: str) -> None:
        self._card(f"card.verify_passcode({passcode!r})\nprint('ok')")

    def _card(self, code: str) -> str:
        """Open the token in a process of its own (SoftHSM reads its tokens once per process)."""
        done = subprocess.run(  # noqa: S603 - our own interpreter, code from the test
            [
                sys.executable,
                "-c",
                "from cis_card.pkcs11card import Pkcs11Card\n"
                f"card = Pkcs11Card({SOFTHSM_MODULE!r}, {self.label!r})\n{code}",
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]


@dataclass
class World:
    live: LiveCis
    agent: AgentProcess
    token: Token


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("softhsm-journey")
    tokens = base / "tokens"
    tokens.mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    env = agent_env(base / "agent-home")
    env["SOFTHSM2_CONF"] = str(conf)
    # A blank card from the maker, in the reader before the agent starts: SoftHSM reads its
    # token directory once, when a process first loads it.
    subprocess.run(  # noqa: S603 - Debian's tool, fixed arguments
        ["softhsm2-util", "--init-token", "--free", "--label", "blank-hsm",
         "--so-pin", TRANSPORT_SO_PIN, "--pin", "00000000"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    agent_port = free_port()
    live = LiveCis(
        base / "cis",
        extra_env={
            "CIS_AGENT_URL": f"http://127.0.0.1:{agent_port}",
            "CIS_AGENT_PKCS11_MODULE": SOFTHSM_MODULE,
        },
    )
    live.data_dir.mkdir()
    agent = None
    try:
        live.load_demo()
        live.start()
        agent = AgentProcess(
            live.url, f"pkcs11:{SOFTHSM_MODULE}", agent_port, env, base / "agent.log"
        )
        yield World(live=live, agent=agent, token=Token(label="blank-hsm", env=env))
    finally:
        if agent is not None:
            agent.stop()
        live.close()


@pytest.fixture(scope="module")
def browser(world: World) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - browser tests only

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=chromium_args(world.live.port))
        try:
            yield launched
        finally:
            launched.close()


def _signed_in(browser: Any, world: World, name: str) -> Any:
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    context.grant_permissions(["local-network-access"], origin=world.live.url)
    page = context.new_page()
    page.goto(f"{world.live.url}/sign-in/demo/")
    page.get_by_role("button", name=f"Sign in as {name}").first.click()
    page.wait_for_url(f"{world.live.url}/")
    return page


def _on_the_agent(page: Any, world: World, button: str) -> None:
    """Press the portal's card button; the page goes to the agent's own confirmation page."""
    from playwright.sync_api import expect  # noqa: PLC0415

    page.get_by_role("button", name=button).click()
    try:
        page.wait_for_url(f"{world.agent.url}/confirm/*", timeout=60_000)
    except Exception:  # noqa: BLE001 - turned into a failure that says what the page showed
        shown = page.locator("[data-card-task-error], [data-card-task-fallback]").all_inner_texts()
        pytest.fail(f"the page did not reach the agent: {shown}\n{world.agent.log.read_text()}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm this card task")


def _status(world: World, chip: str) -> Any:
    out = world.live.shell(
        "import json\nfrom cis.smartcards.models import Smartcard\n"
        f"print(json.dumps(Smartcard.objects.get(chip_serial='{chip}').status))"
    )
    return json.loads(out.strip().splitlines()[-1])


def test_a_card_on_a_pkcs11_token_is_issued_and_its_passcode_changed_through_the_portal(
    world: World, browser: Any
) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    chip = world.token.serial()
    ra_agent = _signed_in(browser, world, "Daniel Okafor")
    ra_agent.goto(f"{world.live.url}/people/{SAM}/")
    _on_the_agent(ra_agent, world, "Issue a new card")
    # The agent found the token through PKCS#11 by itself.
    expect(ra_agent.get_by_text(f"Card in the reader: {chip}")).to_be_visible()
    ra_agent.get_by_label("The holder's new passcode", exact=True).fill("2468")
    ra_agent.get_by_label("New passcode again", exact=True).fill("2468")
    SHOTS.mkdir(parents=True, exist_ok=True)
    ra_agent.screenshot(path=str(SHOTS / "agent-confirm-issue-pkcs11.png"), full_page=True)
    ra_agent.get_by_role("button", name="Issue a new card").click()
    expect(ra_agent.get_by_role("heading", level=1)).to_have_text("Done")
    expect(ra_agent.get_by_role("status")).to_contain_text(f"Card {chip} is issued")
    ra_agent.context.close()
    assert _status(world, chip) == "active"

    holder = _signed_in(browser, world, "Sam Whitworth")
    holder.goto(f"{world.live.url}/my-smartcard/")
    expect(holder.locator(f"#card-{chip}")).to_be_visible()
    _on_the_agent(holder, world, "Change the passcode")
    holder.get_by_label("Current passcode", exact=True).fill("2468")
    holder.get_by_label("New passcode", exact=True).fill("1357")
    holder.get_by_label("New passcode again", exact=True).fill("1357")
    holder.get_by_role("button", name="Change the passcode").click()
    expect(holder.get_by_role("heading", level=1)).to_have_text("Done")
    holder.context.close()

    world.token.verify_passcode("1357")
    verified = world.live.cis("audit", "verify")
    assert "intact" in verified.stdout, verified.stdout + verified.stderr
