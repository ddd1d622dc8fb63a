"""What the browser journeys share: Debian's Chromium, and `cis-agent serve` as its own process.

The CIS page is served to Chromium as a *public* address (--ip-address-space-overrides), so a
page calling the agent on 127.0.0.1 meets Chromium's Local Network Access rule as a real
deployment does; each journey grants the permission the person would give when asked.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
AGENT = str(Path(sys.executable).with_name("cis-agent"))
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def chromium_args(cis_port: int) -> list[str]:
    """Headless Chromium, with CIS on this port as a public address."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        # CIS as a public address, as deployed: calling the agent is a private-network
        # request, with Chromium's preflight.
        f"--ip-address-space-overrides=127.0.0.1:{cis_port}=public",
    ]


def agent_env(home: Path) -> dict[str, str]:
    """The workstation's environment: nothing of the server's, an agent home of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIS_", "DJANGO_"))}
    env["CIS_AGENT_HOME"] = str(home)
    return env


class AgentProcess:
    """`cis-agent serve` in a process of its own, reading cards from one reader SPEC."""

    def __init__(
        self,
        server: str,
        reader: str,
        port: int,
        env: dict[str, str],
        log: Path,
        *,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.server = server
        self.port = port
        self.log = log
        with self.log.open("a") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
                [AGENT, "serve", "--server", server, "--reader", reader, "--port", str(port),
                 *extra],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"cis-agent serve exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/status", headers={"Origin": server}).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)  # waiting for it to listen, not timing anything
        pytest.fail(f"cis-agent serve did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)
