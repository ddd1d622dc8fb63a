"""`cis-agent serve`: the agent as a small local service the portal asks to carry out card tasks.

How it is kept safe:

- It listens on 127.0.0.1 only, and answers the JSON endpoints (`GET /status`, `POST /tasks`)
  only to the one CIS origin it was started for: the Origin header must be exactly that origin
  (no wildcard CORS, no credentials), a task must be posted as JSON (so a browser always sends
  a CORS preflight first), and Chromium's Private Network Access preflight
  (`Access-Control-Request-Private-Network`) gets its `Access-Control-Allow-Private-Network`
  answer only for that origin.
- What the page hands over is a task reference and its one-time secret, in the body, never in a
  URL. The agent asks CIS what the task is and shows it on a page of its **own** origin
  (http://127.0.0.1:PORT/confirm/...), where the person reads what is about to happen and types
  the passcode (or code): no passcode or PIN ever passes through the CIS page, and the page
  cannot read the agent's page (another origin). That confirmation page is also how tests drive
  the agent: a browser fills it in as a person would.
- The agent finds the card by itself (the readers it was given) and refuses, before anything
  changes, when there is none, more than one, or not the card the task names; CIS checks the
  card again when the agent claims the task (once, before it expires, while the browser session
  that asked is signed in).
"""

from __future__ import annotations

import hmac
import html
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from cis_card import flows
from cis_card.base import Card, CardError, CardLocked, PasscodePolicy, PasscodeRejected

from .api import ApiClient
from .errors import AgentError, from_card_error
from .readers import Reader, inserted

DEFAULT_PORT = 31505
MAX_BODY = 8192
TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
STYLE = """body{font-family:Arial,sans-serif;max-width:40em;margin:2em auto;padding:0 1em;
color:#212b32}h1{font-size:1.6em}label{display:block;font-weight:bold;margin-top:1em}
input[type=password],input[type=text]{font-size:1.2em;padding:.3em;width:12em;display:block}
button{margin-top:1.5em;font-size:1.1em;padding:.5em 1em;background:#007f3b;color:#fff;border:0}
.problem{border-left:6px solid #d5281b;padding-left:1em}.done{border-left:6px solid #007f3b;
padding-left:1em}dt{font-weight:bold}dd{margin:0 0 .6em 0}
"""
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# What the person types on the confirmation page, for each kind of task.
FIELDS: dict[str, list[tuple[str, str]]] = {
    "renew": [("passcode", "Passcode")],
    "change_passcode": [
        ("current", "Current passcode"),
        ("new", "New passcode"),
        ("confirm", "New passcode again"),
    ],
    "self_unlock": [
        ("code", "The one-time code you were sent"),
        ("new", "New passcode"),
        ("confirm", "New passcode again"),
    ],
    "unlock": [("new", "The holder's new passcode"), ("confirm", "New passcode again")],
    "issue": [("new", "The holder's new passcode"), ("confirm", "New passcode again")],
    "replace": [("new", "The holder's new passcode"), ("confirm", "New passcode again")],
}
SECRET_FIELDS = frozenset({"passcode", "current", "new", "confirm"})


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AgentError(f"'{url}' is not a CIS address (http:// or https://).", 2)
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


@dataclass
class Pending:
    """A task the page handed over, waiting for the person to confirm it on the agent's page."""

    ref: str
    secret: str
    task: dict[str, Any]
    return_url: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))


@dataclass
class Outcome:
    ok: bool
    message: str
    retry: bool = False  # nothing changed anywhere: the person may correct it and confirm again


class AgentService:
    """The state of one `cis-agent serve`: its CIS, its readers, the tasks handed to it."""

    def __init__(
        self,
        *,
        server: str,
        readers: list[Reader],
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        transport: httpx.BaseTransport | None = None,
        transport_so_pin: str = "12345678",
        log: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.server = server.rstrip("/")
        self.origin = origin_of(server)
        self.readers = readers
        self.host = host
        self.port = port
        self.transport = transport
        self.transport_so_pin = transport_so_pin
        self.log = log
        self.pending: dict[str, Pending] = {}
        self._lock = threading.Lock()  # one card operation at a time
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def own_origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self) -> ApiClient:
        return ApiClient(self.server, transport=self.transport)

    # -- lifecycle --------------------------------------------------------------------------

    def bind(self) -> ThreadingHTTPServer:
        service = self

        class Handler(AgentHandler):
            agent = service

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = int(self._httpd.server_address[1])
        return self._httpd

    def serve_forever(self) -> None:
        httpd = self._httpd or self.bind()
        httpd.serve_forever()

    def shutdown(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    # -- tasks ------------------------------------------------------------------------------

    def accept(self, ref: str, secret: str, return_url: str) -> Pending:
        """Ask CIS what the task is (changing nothing) and keep it for the person to confirm."""
        client = self.client()
        try:
            task = client.task_describe(task=ref, secret=secret)
        finally:
            client.close()
        if not return_url.startswith(self.origin + "/"):
            return_url = self.origin + "/"
        pending = Pending(ref=ref, secret=secret, task=task, return_url=return_url)
        with self._lock:
            self.pending = {k: v for k, v in self.pending.items() if v.ref != ref}
            self.pending[secrets.token_urlsafe(16)] = pending
        self.log(f"task {task['kind']} for card {task['chip_serial'] or '(blank)'} handed over")
        return pending

    def find_card(self, task: dict[str, Any]) -> tuple[Card | None, str]:
        """The one card this task can use, or why there is none."""
        try:
            cards = inserted(self.readers)
        except CardError as exc:
            return None, str(exc)
        if not cards:
            return None, "There is no card in the reader. Insert the card, then reload this page."
        if len(cards) > 1:
            serials = ", ".join(c.serial() for c in cards)
            return None, (
                f"There is more than one card in the readers ({serials}). Leave only the card "
                "this task is for, then reload this page."
            )
        card = cards[0]
        if task["kind"] in ("issue", "replace"):
            if card.is_initialised():
                return None, (
                    f"Card {card.serial()} in the reader is already issued. Insert a blank card, "
                    "then reload this page."
                )
        elif card.serial() != task["chip_serial"]:
            return None, (
                f"The card in the reader is {card.serial()}, but this task is for card "
                f"{task['chip_serial']}. Insert that card, then reload this page."
            )
        return card, ""

    def carry_out(self, pending: Pending, form: dict[str, str]) -> Outcome:
        """Check what was typed, claim the task from CIS, do it on the card, report back."""
        task = pending.task
        kind = task["kind"]
        policy = PasscodePolicy(**task["passcode_policy"])
        try:
            if "new" in form:
                if form.get("new") != form.get("confirm"):
                    raise PasscodeRejected("The two new passcodes are not the same.")
                policy.check(form["new"])
            if kind == "change_passcode" and form.get("new") == form.get("current"):
                raise PasscodeRejected("The new passcode must differ from the current one.")
        except CardError as exc:
            return Outcome(False, f"{exc} Nothing was changed.", retry=True)
        with self._lock:
            card, problem = self.find_card(task)
            if card is None:
                return Outcome(False, problem, retry=True)
            client = self.client()
            if kind in ("renew", "change_passcode"):
                # Check the passcode on the card first, so a typing mistake changes nothing in
                # CIS; a third wrong one locks the card, and the card reports that itself.
                try:
                    card.verify_passcode(form.get("passcode") or form["current"])
                except CardLocked as exc:
                    try:
                        flows.report_lock(card, client)
                    except (AgentError, CardError) as problem:
                        self.log(f"could not report the lock to CIS: {problem}")
                    client.close()
                    return Outcome(False, str(exc))
                except CardError as exc:
                    client.close()
                    return Outcome(False, f"{exc} Nothing was changed.", retry=True)
            try:
                claimed = client.task_claim(
                    task=pending.ref, secret=pending.secret, chip_serial=card.serial()
                )
            except AgentError as exc:
                client.close()
                return Outcome(False, exc.message)
            try:
                message = self._do(
                    kind=kind,
                    card=card,
                    client=client,
                    operation=claimed.get("operation"),
                    form=form,
                    policy=policy,
                )
            except (AgentError, CardError) as exc:
                reason = (
                    exc.message if isinstance(exc, AgentError) else from_card_error(exc).message
                )
                self._finish(client, pending, "failed", reason)
                return Outcome(False, reason)
            except Exception as exc:  # noqa: BLE001 - told to CIS and the person, not swallowed
                reason = f"Something went wrong: {exc.__class__.__name__}."
                self._finish(client, pending, "failed", reason)
                return Outcome(False, reason)
            self._finish(client, pending, "done", message)
            return Outcome(True, message)

    def _finish(self, client: ApiClient, pending: Pending, outcome: str, detail: str) -> None:
        try:
            client.task_finish(
                task=pending.ref, secret=pending.secret, outcome=outcome, detail=detail
            )
        except AgentError as exc:
            self.log(f"could not tell CIS how the task went: {exc.message}")
        finally:
            client.close()

    def _do(
        self,
        *,
        kind: str,
        card: Card,
        client: ApiClient,
        operation: dict[str, Any] | None,
        form: dict[str, str],
        policy: PasscodePolicy,
    ) -> str:
        if kind == "renew":
            assert operation is not None  # noqa: S101 - CIS starts one for every renewal
            done = flows.renew(
                card=card, server=client, passcode=form["passcode"], operation=operation
            )
            return (
                f"Renewed: the new certificate is on card {done.chip_serial}, valid until "
                f"{done.not_after}."
            )
        if kind == "change_passcode":
            flows.change_passcode(
                card=card, current=form["current"], new=form["new"], policy=policy, server=client
            )
            return "The passcode on your card is changed."
        if kind == "self_unlock":
            flows.self_unlock(card=card, server=client, code=form["code"], new_passcode=form["new"])
            return f"Card {card.serial()} is unlocked, with the new passcode."
        if kind == "unlock":
            assert operation is not None  # noqa: S101
            flows.unlock_with(
                card=card,
                server=client,
                operation=operation,
                new_passcode=form["new"],
                progress=lambda _: None,
            )
            return f"Card {card.serial()} is unlocked, with the holder's new passcode."
        assert operation is not None  # noqa: S101 - issue and replace
        done = flows.personalise(
            card=card,
            server=client,
            operation=operation,
            passcode=form["new"],
            transport_so_pin=self.transport_so_pin,
        )
        return f"Card {done.chip_serial} is issued, with certificate {done.certificate_serial}."


# -- HTTP --------------------------------------------------------------------------------------


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


class AgentHandler(BaseHTTPRequestHandler):
    agent: AgentService
    server_version = "cis-agent"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        self.agent.log(format % args)

    # -- helpers ---------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _cors(self) -> dict[str, str] | None:
        """CORS headers for the one CIS origin, or None for anyone else."""
        if self.headers.get("Origin") != self.agent.origin:
            return None
        return {
            "Access-Control-Allow-Origin": self.agent.origin,
            "Vary": "Origin",
            "Cache-Control": "no-store",
        }

    def _json(self, status: int, data: dict[str, Any], cors: dict[str, str] | None) -> None:
        body = json.dumps(data).encode()
        self._send(status, body, "application/json", cors or {"Cache-Control": "no-store"})

    def _refuse_origin(self) -> None:
        self.agent.log(f"refused a request from origin {self.headers.get('Origin')!r}")
        self._json(
            HTTPStatus.FORBIDDEN,
            {"error": "This agent takes tasks only from the CIS it was started for."},
            None,
        )

    def _page(self, status: int, title: str, content: str) -> None:
        body = (
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width, initial-scale=1">'
            f"<title>{_esc(title)} - CIS card agent</title>"
            '<link rel=stylesheet href="/agent.css"></head><body>'
            f"<p>CIS card agent, for {_esc(self.agent.origin)}</p>"
            f"<main><h1>{_esc(title)}</h1>{content}</main></body></html>"
        ).encode()
        self._send(status, body, "text/html; charset=utf-8", SECURITY_HEADERS)

    def _read_body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length < 0 or length > MAX_BODY:
            return None
        return self.rfile.read(length)

    # -- verbs -----------------------------------------------------------------------------

    def do_OPTIONS(self) -> None:  # noqa: N802 - the base class's naming
        cors = self._cors()
        if cors is None or self.path not in ("/status", "/tasks"):
            self._send(HTTPStatus.FORBIDDEN, b"", "text/plain")
            return
        headers = {
            **cors,
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        }
        if self.headers.get("Access-Control-Request-Private-Network") == "true":
            headers["Access-Control-Allow-Private-Network"] = "true"
        self._send(HTTPStatus.NO_CONTENT, b"", "text/plain", headers)

    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if path == "/agent.css":
            self._send(HTTPStatus.OK, STYLE.encode(), "text/css", {"Cache-Control": "no-store"})
            return
        if path == "/status":
            cors = self._cors()
            if cors is None:
                self._refuse_origin()
                return
            self._json(HTTPStatus.OK, {"agent": "cis-agent", "server": self.agent.origin}, cors)
            return
        if path.startswith("/confirm/"):
            self._confirm_page(path.removeprefix("/confirm/"))
            return
        self._page(HTTPStatus.NOT_FOUND, "Not found", "<p>There is nothing here.</p>")

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if path == "/tasks":
            self._take_task()
            return
        if path.startswith("/confirm/"):
            self._confirm(path.removeprefix("/confirm/"))
            return
        self._page(HTTPStatus.NOT_FOUND, "Not found", "<p>There is nothing here.</p>")

    # -- the task handed over by the CIS page -------------------------------------------------

    def _take_task(self) -> None:
        cors = self._cors()
        if cors is None:
            self._refuse_origin()
            return
        if self.headers.get_content_type() != "application/json":
            self._json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "Send JSON."}, cors)
            return
        raw = self._read_body()
        try:
            data = json.loads(raw or b"")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            self._json(HTTPStatus.BAD_REQUEST, {"error": "Send a task as JSON."}, cors)
            return
        ref, secret = str(data.get("task", "")), str(data.get("secret", ""))
        if not ref or not secret or not set(ref + secret) <= TOKEN_CHARS or len(ref) > 64:
            self._json(HTTPStatus.BAD_REQUEST, {"error": "That is not a card task."}, cors)
            return
        try:
            pending = self.agent.accept(ref, secret, str(data.get("return_url", "")))
        except AgentError as exc:
            self._json(HTTPStatus.CONFLICT, {"error": exc.message}, cors)
            return
        local = next(k for k, v in self.agent.pending.items() if v is pending)
        self._json(
            HTTPStatus.CREATED,
            {
                "confirm_url": f"{self.agent.own_origin}/confirm/{local}",
                "kind": pending.task["kind"],
            },
            cors,
        )

    # -- the agent's own confirmation page ----------------------------------------------------

    def _describe(self, task: dict[str, Any]) -> str:
        rows = [
            ("CIS asks this agent to", task["kind_label"]),
            ("Card", task["chip_serial"] or "a blank card in the reader"),
            ("Holder", f"{task['holder']['full_name']} ({task['holder']['user_id']})"),
            ("Asked by", f"{task['asked_by']['full_name']} ({task['asked_by']['user_id']})"),
        ]
        if task.get("reason"):
            rows.append(("Reason", task["reason"]))
        return "<dl>" + "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in rows) + "</dl>"

    def _confirm_page(self, local: str, problem: str = "") -> None:
        pending = self.agent.pending.get(local)
        if pending is None:
            self._page(
                HTTPStatus.NOT_FOUND,
                "No such task",
                "<p>This task is not waiting here: it was done, cancelled, or never handed to "
                "this agent. Start again from CIS.</p>",
            )
            return
        task = pending.task
        card, card_problem = self.agent.find_card(task)
        parts = [self._describe(task)]
        if problem:
            parts.append(f"<div class=problem role=alert><p>{_esc(problem)}</p></div>")
        if card is None:
            parts.append(f"<div class=problem role=alert><p>{_esc(card_problem)}</p></div>")
        else:
            parts.append(f"<p>Card in the reader: {_esc(card.serial())}.</p>")
            fields = "".join(
                f'<label for="{name}">{_esc(label)}</label>'
                f'<input id="{name}" name="{name}" '
                f'type="{"password" if name in SECRET_FIELDS else "text"}" '
                f'autocomplete="off" inputmode="{"numeric" if name == "code" else "text"}">'
                for name, label in FIELDS[task["kind"]]
            )
            who = (
                "<p>The holder types the new passcode themselves.</p>"
                if task["kind"] in ("unlock", "issue", "replace")
                else "<p>Your passcode stays on this computer and the card: CIS never sees it.</p>"
            )
            parts.append(
                f'<form method=post action="/confirm/{_esc(local)}">{who}{fields}'
                f'<input type=hidden name=csrf value="{_esc(pending.csrf)}">'
                f"<button type=submit>{_esc(task['kind_label'])}</button></form>"
            )
        parts.append(
            f'<p><a href="{_esc(pending.return_url)}">Back to CIS without doing it</a></p>'
        )
        self._page(HTTPStatus.OK, "Confirm this card task", "".join(parts))

    def _confirm(self, local: str) -> None:
        origin = self.headers.get("Origin")
        if origin not in (None, "null", self.agent.own_origin):
            self._page(HTTPStatus.FORBIDDEN, "Refused", "<p>Confirm tasks on this page only.</p>")
            return
        raw = self._read_body()
        form = {k: v[0] for k, v in parse_qs((raw or b"").decode("utf-8", "replace")).items()}
        pending = self.agent.pending.get(local)
        if pending is None or not hmac.compare_digest(
            form.get("csrf", ""), pending.csrf if pending else ""
        ):
            self._confirm_page(local)
            return
        wanted = {name for name, _ in FIELDS[pending.task["kind"]]}
        typed = {k: v for k, v in form.items() if k in wanted}
        if set(typed) != wanted or not all(typed.values()):
            self._confirm_page(local, "Fill in every box.")
            return
        outcome = self.agent.carry_out(pending, typed)
        if outcome.retry:
            self._confirm_page(local, outcome.message)  # a typing mistake: try again
            return
        self.agent.pending.pop(local, None)
        css = "done" if outcome.ok else "problem"
        title = "Done" if outcome.ok else "The task did not finish"
        self._page(
            HTTPStatus.OK if outcome.ok else HTTPStatus.CONFLICT,
            title,
            f"<div class={css} role=status><p>{_esc(outcome.message)}</p></div>"
            f'<p><a href="{_esc(pending.return_url)}">Back to CIS</a></p>',
        )
