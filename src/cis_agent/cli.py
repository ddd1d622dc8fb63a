"""`cis-agent`: the workstation agent's commands, each a thin shell around cis_card.flows.

Exit statuses (also in the README): 0 success; 1 unexpected failure; 2 bad command line;
3 not signed in; 4 wrong passcode or one-time code; 5 card locked; 6 card problem; 7 refused by
CIS's policy; 8 not possible now; 9 CIS unreachable; 10 input breaks a rule; 11 rate limited.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
import httpx
from rich.console import Console
from rich.status import Status

from cis_card import flows
from cis_card.base import Card, CardError, PasscodePolicy
from cis_card.spec import open_card
from cis_card.virtual import VirtualCard

from . import state
from .api import ApiClient
from .errors import (
    BAD_INPUT,
    EXIT_STATUSES,
    FAILED,
    NOT_SIGNED_IN,
    AgentError,
    from_card_error,
)

DEFAULT_TRANSPORT_PIN = "12345678"
# Tests (and programs embedding the agent) may route HTTP elsewhere, e.g. to a WSGI app.
transport: httpx.BaseTransport | None = None

F = TypeVar("F", bound=Callable[..., Any])

err = Console(stderr=True, highlight=False)


class Steps:
    """Progress on slow steps: a spinner on a terminal, one line per step otherwise."""

    def __init__(self) -> None:
        self._status: Status | None = None

    def __call__(self, message: str) -> None:
        if err.is_terminal:
            if self._status is None:
                self._status = err.status(message)
                self._status.start()
            else:
                self._status.update(message)
        else:
            err.print(f"… {message}")

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


@contextmanager
def _reported() -> Iterator[Steps]:
    """Turn every failure into one line on stderr and its exit status."""
    steps = Steps()
    try:
        yield steps
    except AgentError as exc:
        steps.stop()
        _fail(exc.message, exc.status)
    except CardError as exc:
        steps.stop()
        error = from_card_error(exc)
        _fail(error.message, error.status)
    except click.exceptions.Exit:
        steps.stop()
        raise
    except click.ClickException:
        steps.stop()
        raise
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, status 1
        steps.stop()
        _fail(f"unexpected error: {exc.__class__.__name__}: {exc}", FAILED)
    steps.stop()


def _fail(message: str, status: int) -> None:
    click.echo(f"cis-agent: {message}", err=True)
    sys.exit(status)


def server_option(required: bool = True) -> Callable[[F], F]:
    return click.option(
        "--server",
        envvar="CIS_SERVER",
        required=required,
        metavar="URL",
        help="The CIS server, e.g. http://127.0.0.1:8000 (or $CIS_SERVER).",
    )


card_option = click.option(
    "--card",
    "card_spec",
    envvar="CIS_CARD",
    required=True,
    metavar="SPEC",
    help="virtual:PATH or pkcs11:MODULE_PATH:TOKEN_LABEL (or $CIS_CARD).",
)
stdin_option = click.option(
    "--passcode-stdin",
    is_flag=True,
    help="Read passcodes from standard input, one per line, instead of prompting.",
)


def _read_lines(count: int) -> list[str]:
    lines = []
    for _ in range(count):
        line = sys.stdin.readline()
        if not line:
            raise AgentError(
                f"Expected {count} line{'s' if count > 1 else ''} on standard input.", BAD_INPUT
            )
        lines.append(line.rstrip("\r\n"))
    return lines


def _passcodes(passcode_stdin: bool, prompts: list[tuple[str, bool]]) -> list[str]:
    """One value per prompt: (text, is a new passcode to be typed twice)."""
    if passcode_stdin:
        return _read_lines(len(prompts))
    return [
        click.prompt(text, hide_input=True, confirmation_prompt=new, err=True)
        for text, new in prompts
    ]


def _card(spec: str) -> Card:
    return open_card(spec)


def _client(server: str, *, signed_in: bool = True) -> ApiClient:
    token = None
    if signed_in:
        session = state.session_for(server)
        if session is None:
            raise AgentError(
                "Sign in first: cis-agent login --server URL --card SPEC (sign-ins last 30 "
                "minutes).",
                NOT_SIGNED_IN,
            )
        token = session["token"]
    return ApiClient(server, token=token, transport=transport)


def _sign_in(server: str, card: Card, passcode: str, steps: Steps) -> dict[str, Any]:
    anonymous = ApiClient(server, transport=transport)
    try:
        result = flows.login(card=card, server=anonymous, passcode=passcode, progress=steps)
    finally:
        anonymous.close()
    state.save_session(
        server,
        token=result["token"],
        expires_at=result["expires_at"],
        user_id=result["person"]["user_id"],
        name=result["person"]["full_name"],
        chip_serial=card.serial(),
    )
    return result


@click.group(
    epilog="Exit statuses: "
    + "; ".join(f"{code} {text}" for code, text in EXIT_STATUSES.items())
    + "."
)
@click.version_option(package_name="care-identity-service", prog_name="cis-agent")
def main() -> None:
    """The CIS workstation agent: your smartcard and the Care Identity Service."""


@main.command()
@server_option()
@card_option
@stdin_option
def login(server: str, card_spec: str, passcode_stdin: bool) -> None:
    """Sign in to CIS with the card (its passcode signs a challenge on the card)."""
    with _reported() as steps:
        card = _card(card_spec)
        (passcode,) = _passcodes(passcode_stdin, [("Passcode", False)])
        result = _sign_in(server, card, passcode, steps)
        steps.stop()
        person = result["person"]
        click.echo(
            f"Signed in as {person['full_name']} ({person['user_id']}) until "
            f"{result['expires_at']}."
        )


@main.command()
@server_option()
def logout(server: str) -> None:
    """End the agent's sign-in."""
    with _reported():
        session = state.session_for(server)
        if session is not None:
            client = ApiClient(server, token=session["token"], transport=transport)
            try:
                client.logout()
            except AgentError as exc:
                if exc.status != NOT_SIGNED_IN:  # an expired sign-in is as good as ended
                    raise
            finally:
                client.close()
                state.forget(server)
        click.echo("Signed out.")


@main.command()
@server_option(required=False)
@card_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(server: str | None, card_spec: str, as_json: bool) -> None:
    """What the card says (no passcode needed), and what CIS says about it when signed in."""
    with _reported():
        card = _card(card_spec)
        local = flows.card_status(card)
        remote: dict[str, Any] | None = None
        remote_problem = ""
        signed_in = bool(server) and state.session_for(server or "") is not None
        if server and (signed_in or local["locked"]):
            # A locked card reports itself even with no sign-in (its own lock-report key).
            client = _client(server) if signed_in else ApiClient(server, transport=transport)
            try:
                if local["locked"]:
                    remote = flows.report_lock(card, client)
                else:
                    remote = client.card(chip_serial=local["chip_serial"])
            except AgentError as exc:
                # What the card says is still worth showing when CIS will not say more.
                remote_problem = exc.message
            finally:
                client.close()
        if as_json:
            click.echo(
                json.dumps({"card": local, "cis": remote, "cis_problem": remote_problem}, indent=2)
            )
            return
        click.echo(f"Card {local['chip_serial']}")
        if not local["initialised"]:
            click.echo("  not issued yet (blank)")
        elif local["locked"]:
            click.echo("  LOCKED: unlock it with cis-agent unlock --self, or ask your LSA")
        else:
            tries = local["tries_left"]
            click.echo(f"  unlocked{'' if tries is None else f', {tries} passcode tries left'}")
        cert = local["certificate"]
        if cert:
            click.echo(f"  certificate {cert['serial']} for {cert['subject']}")
            click.echo(f"  expires {cert['not_after']}")
        if remote_problem:
            click.echo(f"  CIS: {remote_problem}")
        if remote is not None:
            click.echo(f"  CIS: {remote['status']}")
            remote_cert = remote.get("certificate")
            if remote_cert:
                click.echo(f"  CIS: renewal opens {remote_cert['renewal_opens']}")
            if remote.get("so_pin_rotation_due"):
                click.echo("  CIS: the administrator PIN is due to be rotated")


@main.command("change-passcode")
@server_option(required=False)
@card_option
@stdin_option
def change_passcode(server: str | None, card_spec: str, passcode_stdin: bool) -> None:
    """Change the card's passcode, knowing the current one (two lines: current, then new)."""
    with _reported():
        card = _card(card_spec)
        current, new = _passcodes(
            passcode_stdin, [("Current passcode", False), ("New passcode", True)]
        )
        client = None
        policy = PasscodePolicy()
        if server:
            client = ApiClient(server, transport=transport)
            policy = flows.policy_of(client)
            if state.session_for(server) is not None:
                client.close()
                client = _client(server)
        try:
            flows.change_passcode(card=card, current=current, new=new, policy=policy, server=client)
        finally:
            if client is not None:
                client.close()
        click.echo("Passcode changed.")


@main.command()
@server_option()
@card_option
@stdin_option
@click.option(
    "--self",
    "self_unlock",
    is_flag=True,
    help="Unlock your own card with a one-time code sent to your verified contact.",
)
@click.option("--code", help="The one-time code you were sent (--self).")
@click.option("--send-code-only", is_flag=True, help="Only send the code (--self).")
@click.option(
    "--channel",
    type=click.Choice(["email", "mobile"]),
    help="Where to send the code (--self; default: mobile, else email).",
)
def unlock(
    *,
    server: str,
    card_spec: str,
    passcode_stdin: bool,
    self_unlock: bool,
    code: str | None,
    send_code_only: bool,
    channel: str | None,
) -> None:
    """Unlock a locked card; the holder chooses the new passcode (one line on stdin).

    Without --self, an LSA, Sponsor or RA Agent signed in with their own card unlocks the
    holder's card with the holder present.
    """
    with _reported() as steps:
        card = _card(card_spec)
        if not self_unlock:
            client = _client(server)
            try:
                (new,) = _passcodes(passcode_stdin, [("Holder's new passcode", True)])
                done = flows.unlock_assisted(
                    card=card, server=client, new_passcode=new, progress=steps
                )
            finally:
                client.close()
        else:
            client = ApiClient(server, transport=transport)
            try:
                if code is None:
                    sent = flows.self_unlock_send_code(
                        card=card, server=client, channel=channel or ""
                    )
                    steps.stop()
                    click.echo(
                        f"A code was sent to {sent['sent_to']}; it lasts 15 minutes.", err=True
                    )
                    if send_code_only:
                        return
                    if passcode_stdin:
                        raise AgentError(
                            "With --passcode-stdin, give the code with --code.", BAD_INPUT
                        )
                    code = click.prompt("Code", err=True)
                (new,) = _passcodes(passcode_stdin, [("New passcode", True)])
                done = flows.self_unlock(
                    card=card, server=client, code=code, new_passcode=new, progress=steps
                )
            finally:
                client.close()
        steps.stop()
        note = "" if done.so_pin_rotated else " (administrator PIN rotation still due)"
        click.echo(f"Card {done.chip_serial} unlocked{note}.")


@main.command()
@server_option()
@card_option
@stdin_option
@click.option(
    "--holder-present",
    is_flag=True,
    help="After expiry (RA Agent): the holder is here and types the passcode.",
)
def renew(server: str, card_spec: str, passcode_stdin: bool, holder_present: bool) -> None:
    """Renew the card's certificate (a new key on the card, proven by the old one)."""
    with _reported() as steps:
        card = _card(card_spec)
        (passcode,) = _passcodes(passcode_stdin, [("Passcode", False)])
        if state.session_for(server) is None:
            _sign_in(server, card, passcode, steps)
        for attempt in (1, 2):
            client = _client(server)
            try:
                done = flows.renew(
                    card=card,
                    server=client,
                    passcode=passcode,
                    holder_present=holder_present,
                    progress=steps,
                )
                break
            except AgentError as exc:
                if exc.status != NOT_SIGNED_IN or attempt == 2:
                    raise
                # The sign-in ran out: the holder's passcode is at hand, so sign in again.
                state.forget(server)
                _sign_in(server, card, passcode, steps)
            finally:
                client.close()
        steps.stop()
        click.echo(
            f"Renewed: certificate {done.certificate_serial} is on card {done.chip_serial}, "
            f"valid until {done.not_after}."
        )


@main.command()
@server_option()
@card_option
@stdin_option
@click.option("--holder", required=True, metavar="USER_ID", help="The holder's 12-digit user id.")
@click.option(
    "--transport-pin",
    envvar="CIS_AGENT_TRANSPORT_PIN",
    default=DEFAULT_TRANSPORT_PIN,
    show_default=True,
    help="The blank card's SO PIN from its maker.",
)
def issue(
    server: str, card_spec: str, passcode_stdin: bool, holder: str, transport_pin: str
) -> None:
    """Issue a blank card to a holder who is present (RA Agent); the holder types the passcode."""
    with _reported() as steps:
        card = _card(card_spec)
        client = _client(server)
        try:
            (passcode,) = _passcodes(passcode_stdin, [("Holder's new passcode", True)])
            done = flows.issue(
                card=card,
                server=client,
                holder=holder,
                passcode=passcode,
                transport_so_pin=transport_pin,
                progress=steps,
            )
        finally:
            client.close()
        steps.stop()
        click.echo(
            f"Issued card {done.chip_serial} with certificate {done.certificate_serial}, "
            f"valid until {done.not_after}."
        )


@main.command()
@server_option()
@card_option
@stdin_option
@click.option(
    "--old",
    "old_serial",
    required=True,
    metavar="CHIP_SERIAL",
    help="The card being replaced (it is cancelled).",
)
@click.option(
    "--reason", required=True, type=click.Choice(["lost", "stolen", "damaged", "left", "faulty"])
)
@click.option(
    "--transport-pin",
    envvar="CIS_AGENT_TRANSPORT_PIN",
    default=DEFAULT_TRANSPORT_PIN,
    show_default=True,
)
def replace(
    *,
    server: str,
    card_spec: str,
    passcode_stdin: bool,
    old_serial: str,
    reason: str,
    transport_pin: str,
) -> None:
    """Replace a card with the blank one in the reader (RA Agent); the old one is cancelled."""
    with _reported() as steps:
        card = _card(card_spec)
        client = _client(server)
        try:
            (passcode,) = _passcodes(passcode_stdin, [("Holder's new passcode", True)])
            done = flows.replace(
                old_chip_serial=old_serial,
                card=card,
                server=client,
                reason=reason,
                passcode=passcode,
                transport_so_pin=transport_pin,
                progress=steps,
            )
        finally:
            client.close()
        steps.stop()
        click.echo(f"Card {old_serial} cancelled ({reason}); card {done.chip_serial} issued.")


@main.command()
@server_option()
@card_option
@stdin_option
def repair(server: str, card_spec: str, passcode_stdin: bool) -> None:
    """Re-personalise a faulty card for the same holder (RA Agent, holder present)."""
    with _reported() as steps:
        card = _card(card_spec)
        client = _client(server)
        try:
            (passcode,) = _passcodes(passcode_stdin, [("Holder's new passcode", True)])
            done = flows.repair(card=card, server=client, passcode=passcode, progress=steps)
        finally:
            client.close()
        steps.stop()
        click.echo(f"Repaired card {done.chip_serial}: certificate {done.certificate_serial}.")


@main.command()
@server_option()
@card_option
@click.option(
    "--transport-pin",
    envvar="CIS_AGENT_TRANSPORT_PIN",
    default=DEFAULT_TRANSPORT_PIN,
    show_default=True,
    help="The SO PIN the cleared card is left with.",
)
def clear(server: str, card_spec: str, transport_pin: str) -> None:
    """Wipe a returned card for reuse (RA Agent); its certificates are revoked."""
    with _reported() as steps:
        card = _card(card_spec)
        client = _client(server)
        try:
            serial = flows.clear(
                card=card, server=client, transport_so_pin=transport_pin, progress=steps
            )
        finally:
            client.close()
        steps.stop()
        click.echo(f"Card {serial} is clear and can be issued again.")


@main.command()
@server_option()
@click.option(
    "--reader",
    "readers",
    multiple=True,
    envvar="CIS_AGENT_READERS",
    required=True,
    metavar="READER",
    help="Where to look for the card: pkcs11:MODULE_PATH (every card in its readers) or "
    "virtual:PATH (a virtual card file, or a folder of them). Repeat for more.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback only.")
@click.option(
    "--port", default=31505, show_default=True, envvar="CIS_AGENT_PORT", help="Local port."
)
@click.option(
    "--transport-pin",
    envvar="CIS_AGENT_TRANSPORT_PIN",
    default=DEFAULT_TRANSPORT_PIN,
    show_default=True,
    help="Blank cards' SO PIN from their maker (for issuing).",
)
def serve(server: str, readers: tuple[str, ...], host: str, port: int, transport_pin: str) -> None:
    """Run as a local service that carries out the card tasks the CIS portal asks for.

    The portal page hands a task to http://127.0.0.1:PORT; the agent shows what it is about to
    do on its own page, where the passcode is typed, finds the card in the reader, and asks CIS
    to let it do the task. It takes tasks only from the CIS given by --server.
    """
    from .readers import Reader  # noqa: PLC0415 - only serve needs these
    from .serve import AgentService  # noqa: PLC0415

    with _reported():
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise AgentError("The agent listens on this computer only (127.0.0.1).", BAD_INPUT)
        service = AgentService(
            server=server,
            readers=[Reader.parse(r) for r in readers],
            host=host,
            port=port,
            transport=transport,
            transport_so_pin=transport_pin,
            log=lambda line: click.echo(line, err=True),
        )
        try:
            service.bind()
        except OSError as exc:
            raise AgentError(f"Cannot listen on {host}:{port}: {exc.strerror}.", FAILED) from None
        click.echo(
            f"cis-agent is listening on {service.own_origin} for card tasks from "
            f"{service.origin}. Stop it with Ctrl+C.",
            err=True,
        )
        try:
            service.serve_forever()
        except KeyboardInterrupt:
            service.shutdown()


@main.command("new-virtual-card")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--transport-pin", default=DEFAULT_TRANSPORT_PIN, show_default=True)
def new_virtual_card(path: str, transport_pin: str) -> None:
    """Make a blank virtual card file (for the demo, or anyone without a reader)."""
    with _reported():
        card = VirtualCard.create_blank(path, transport_so_pin=transport_pin)
        click.echo(f"virtual:{card.path} (chip serial {card.serial()})")


from .login import sign_in_command  # noqa: E402 - browser sign-in (issue 5) reuses the helpers above

main.add_command(sign_in_command)
