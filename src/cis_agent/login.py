"""Browser sign-in with the card: sign CIS's nonce, get a sign-in session and a one-time link.

`cis-agent sign-in` (registered in cli.py) asks CIS for a challenge, has the card sign it after
the holder's passcode, and prints the one-time link (60 seconds) that opens the session in the
browser, where the holder chooses their role. With --watch it stays running and tells CIS
every so often whether the card is still in the reader: under a deployment's card-removal
policy, pulling the card ends the session at once.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import platform
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
import httpx

from cis_card import flows
from cis_card.base import Card, CardError, CardLocked, StoredCertificate, newest_valid
from cis_wire.messages import signin_message

from .api import ApiClient
from .errors import CARD_PROBLEM, NOT_SIGNED_IN, SERVER_DOWN, AgentError, from_http


@dataclass(frozen=True)
class SignedIn:
    session: str
    user_id: str
    name: str
    sign_in_url: str
    agent_token: str
    heartbeat_seconds: int
    ends_on_card_removal: bool
    role_count: int
    shared_card_flagged: bool


def _post(http: httpx.Client, path: str, body: dict[str, Any], token: str = "") -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = http.post(path, json=body, headers=headers)
    except httpx.TransportError as exc:
        raise AgentError(f"Cannot reach CIS: {exc.__class__.__name__}.", SERVER_DOWN) from None
    try:
        data = response.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if response.is_success:
        return data
    raise from_http(response.status_code, str(data.get("error", "")), str(data.get("message", "")))


def presented(card: Card) -> StoredCertificate:
    cert = newest_valid(card.certificates(), dt.datetime.now(dt.UTC))
    if cert is None:
        raise AgentError("This card holds no certificate in force; ask your RA.", CARD_PROBLEM)
    return cert


def sign_in(*, card: Card, http: httpx.Client, passcode: str, workstation: str = "") -> SignedIn:
    """Challenge, sign on the card, answer: a new sign-in session (or a one-line refusal)."""
    cert = presented(card)
    chip_serial = card.serial()
    challenge = _post(http, "/signin/agent/challenge", {})
    message = signin_message(
        challenge_id=challenge["challenge_id"], nonce=challenge["nonce"], chip_serial=chip_serial
    )
    with card.session(passcode) as session:
        signature = session.sign(cert.key_id, message)
    answer = _post(
        http,
        "/signin/agent/respond",
        {
            "challenge_id": challenge["challenge_id"],
            "chip_serial": chip_serial,
            "certificate": base64.b64encode(cert.der).decode(),
            "signature": base64.b64encode(signature).decode(),
            "workstation": workstation or platform.node(),
        },
    )
    return SignedIn(
        session=answer["session"],
        user_id=answer["user_id"],
        name=answer["name"],
        sign_in_url=answer["sign_in_url"],
        agent_token=answer["agent_token"],
        heartbeat_seconds=int(answer["heartbeat_seconds"]),
        ends_on_card_removal=bool(answer["ends_on_card_removal"]),
        role_count=int(answer["role_count"]),
        shared_card_flagged=bool(answer["shared_card_flagged"]),
    )


def card_present(card: Card, chip_serial: str) -> bool:
    try:
        return card.serial() == chip_serial
    except CardError:
        return False


def heartbeat(*, http: httpx.Client, agent_token: str, present: bool) -> bool:
    """Tell CIS whether the card is in the reader; False once the session has ended."""
    try:
        answer = _post(
            http, "/signin/agent/heartbeat", {"card_present": present}, token=agent_token
        )
    except AgentError as exc:
        if exc.status in (NOT_SIGNED_IN, 8):  # 8: NOT_NOW, the session has ended
            return False
        raise
    return bool(answer.get("live", False))


def watch(
    *,
    card: Card,
    http: httpx.Client,
    signed_in: SignedIn,
    chip_serial: str,
    sleep: Callable[[float], None] = time.sleep,
    rounds: int | None = None,
) -> str:
    """Heartbeats until the session ends (or `rounds` run out); returns why it stopped."""
    done = 0
    while rounds is None or done < rounds:
        present = card_present(card, chip_serial)
        if not heartbeat(http=http, agent_token=signed_in.agent_token, present=present):
            return "card removed" if not present else "session ended"
        done += 1
        sleep(signed_in.heartbeat_seconds)
    return "stopped"


# Tests route HTTP elsewhere (a WSGI app) by setting this.
transport: httpx.BaseTransport | None = None


@click.command("sign-in")
@click.option("--server", envvar="CIS_SERVER", required=True, metavar="URL")
@click.option("--card", "card_spec", envvar="CIS_CARD", required=True, metavar="SPEC")
@click.option("--passcode-stdin", is_flag=True, help="Read the passcode from standard input.")
@click.option("--open/--no-open", "open_browser", default=False, help="Open the link.")
@click.option(
    "--watch", "keep_watching", is_flag=True, help="Keep telling CIS the card is in the reader."
)
def sign_in_command(
    server: str, card_spec: str, passcode_stdin: bool, open_browser: bool, keep_watching: bool
) -> None:
    """Sign in to CIS in your browser with the card, and choose your role there."""
    from . import cli  # noqa: PLC0415 - the shared error reporting and prompts live there

    with cli._reported() as steps:  # noqa: SLF001 - one reporting style for every command
        card = cli._card(card_spec)  # noqa: SLF001
        (passcode,) = cli._passcodes(passcode_stdin, [("Passcode", False)])  # noqa: SLF001
        chip_serial = card.serial()
        with httpx.Client(base_url=server.rstrip("/"), transport=transport, timeout=30) as http:
            steps("Signing CIS's challenge on the card")
            try:
                result = sign_in(card=card, http=http, passcode=passcode)
            except CardLocked:
                # The usual place a card locks: tell CIS at once, with the card's own key.
                reporter = ApiClient(server, transport=transport)
                try:
                    flows.report_lock(card, reporter)
                except (AgentError, CardError):
                    pass  # the lock is the news; `cis-agent status` reports it again later
                finally:
                    reporter.close()
                raise
            steps.stop()
            click.echo(f"Signed in as {result.name} ({result.user_id}).")
            if result.shared_card_flagged:
                click.echo(
                    "Warning: this card is also in use at another workstation. Cards must "
                    "not be shared; CIS has recorded this.",
                    err=True,
                )
            click.echo("Open this link within 60 seconds to continue in your browser:")
            click.echo(result.sign_in_url)
            if open_browser:
                with contextlib.suppress(webbrowser.Error):
                    webbrowser.open(result.sign_in_url)
            if keep_watching:
                reason = watch(card=card, http=http, signed_in=result, chip_serial=chip_serial)
                click.echo(f"Sign-in ended: {reason}.")
