"""PostgreSQL stopped, and PostgreSQL silent, under load: clear 503s fast, and back fast.

`cis serve` (2 workers) reaches PostgreSQL through a TCP proxy the check controls
(reliability/tcpproxy.py), so the real server, which others share, is never touched. Clients
keep asking for pages, API reads, sign-in steps and tokens while the proxy first refuses and
resets every connection (a stopped database), then, after recovery, passes nothing on while
keeping connections open (a silent one). Through each fault:

- every answer arrives within 5 s, and is a 503 (the styled page or the API's JSON error), never
  a stack trace, never a 200 for a sign-in or a token (nothing is let in without its checks);
- within 5 s of the database coming back, everything answers as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from django.db import connection
from tests.live import LiveCis

from .conftest import Figures, Scale
from .tcpproxy import TcpProxy

pytestmark = pytest.mark.timeout(900)
ANSWER_WITHIN = 5.0
BACK_WITHIN = 5.0
TRACEBACK_SIGNS = ("Traceback (most recent call last)", 'File "/', "psycopg.", "OperationalError")


@dataclass(frozen=True)
class Probe:
    name: str
    send: Callable[[httpx.Client], httpx.Response]
    healthy: set[int]  # statuses expected with the database up
    lets_in: bool = False  # a 200 here would be a sign-in or token: never while the DB is down


PROBES = [
    Probe("portal", lambda c: c.get("/sign-in/"), {200}),
    Probe("api", lambda c: c.get("/api/v1/me/"), {401, 403}),
    Probe("challenge", lambda c: c.post("/signin/agent/challenge"), {201}),
    Probe("ocsp", lambda c: c.get("/pki/crl"), {200}),
    Probe(
        "token",
        lambda c: c.post(
            "/oidc/token",
            data={"grant_type": "authorization_code", "code": "x", "client_id": "none"},
        ),
        {400, 401},
        lets_in=True,
    ),
    Probe(
        "signin",
        lambda c: c.post(
            "/signin/agent/respond",
            json={"challenge_id": "0" * 32, "chip_serial": "X", "certificate": "", "signature": ""},
        ),
        {400, 401, 403, 409},
        lets_in=True,
    ),
]


@dataclass
class Seen:
    """Every answer in a phase: (probe, status or error, seconds, traceback shown)."""

    answers: list[tuple[str, str, float, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _drive(url: str, seen: Seen, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            for probe in PROBES:
                started = time.monotonic()
                try:
                    answer = probe.send(client)
                    outcome = str(answer.status_code)
                    traced = any(sign in answer.text for sign in TRACEBACK_SIGNS)
                    if probe.lets_in and answer.status_code == 200:
                        outcome = "LET IN"
                except httpx.HTTPError as exc:
                    outcome, traced = type(exc).__name__, False
                with seen.lock:
                    seen.answers.append((probe.name, outcome, time.monotonic() - started, traced))


@pytest.fixture
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveCis, TcpProxy]]:
    """An installation on PostgreSQL whose server processes reach it only through the proxy."""
    if connection.vendor != "postgresql":
        pytest.skip("the database faults are PostgreSQL's (SQLite is a file in the same process)")
    live = LiveCis(tmp_path_factory.mktemp("faults"))
    database = urlsplit(live.database_url)
    proxy = TcpProxy((database.hostname or "127.0.0.1", database.port or 5432))
    user = f"{database.username}@" if database.username else ""
    through = database._replace(netloc=f"{user}127.0.0.1:{proxy.port}")
    live.extra_env["DATABASE_URL"] = urlunsplit(through)
    try:
        live.cis("migrate", "--no-input", "-v", "0", timeout=600)  # slow on a busy machine
        live.cis("ca", "init", timeout=600)
        live.start(workers=2)
        yield live, proxy
    finally:
        proxy.forward()
        live.close()
        proxy.close()


def _phase(url: str, seconds: float, clients: int = 4) -> Seen:
    seen, stop = Seen(), threading.Event()
    threads = [
        threading.Thread(target=_drive, args=(url, seen, stop), daemon=True) for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)  # the length of the phase
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return seen


def _unhealthy(url: str) -> list[str]:
    """The probes that do not answer as they do with the database up (none: healthy)."""
    wrong = []
    with httpx.Client(base_url=url, timeout=ANSWER_WITHIN) as client:
        for probe in PROBES:
            try:
                status = probe.send(client).status_code
            except httpx.HTTPError as exc:
                wrong.append(f"{probe.name}: {type(exc).__name__}")
                continue
            if status not in probe.healthy:
                wrong.append(f"{probe.name}: {status}")
    return wrong


def _back_after(url: str, limit: float = 60) -> float:
    """Seconds from now until every probe answers as it did before the fault."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if not _unhealthy(url):
            return time.monotonic() - started
        time.sleep(0.1)  # polling for recovery; the figure is measured from `started`
    return float("inf")


def _fault(
    live: LiveCis, proxy: TcpProxy, scale: Scale, figures: Figures, fail: Callable[[], None]
) -> None:
    before = _unhealthy(live.url)
    assert not before, f"not healthy before the fault: {before}"
    fail()
    seen = _phase(live.url, scale.pick(short=10, full=30))
    proxy.forward()
    back = _back_after(live.url)
    healthy = {p.name: p.healthy for p in PROBES}
    slow = [a for a in seen.answers if a[2] > ANSWER_WITHIN]
    traced = [a for a in seen.answers if a[3]]
    let_in = [a for a in seen.answers if a[1] == "LET IN"]
    wrong = [
        a
        for a in seen.answers
        if a[1] != "503" and not (a[1].isdigit() and int(a[1]) in healthy[a[0]])
    ]
    statuses: dict[str, int] = {}
    for _, outcome, _, _ in seen.answers:
        statuses[outcome] = statuses.get(outcome, 0) + 1
    figures["answers"] = len(seen.answers)
    figures["slowest_s"] = max((a[2] for a in seen.answers), default=0.0)
    figures["over_5s"] = len(slow)
    figures["tracebacks"] = len(traced)
    figures["let_in"] = len(let_in)
    figures["statuses"] = ",".join(f"{k}:{v}" for k, v in sorted(statuses.items()))
    figures["back_s"] = back
    assert not let_in, let_in[:5]
    assert not traced, traced[:5]
    assert not slow, f"{len(slow)} answers took over {ANSWER_WITHIN} s: {slow[:5]}"
    assert not wrong, f"answers other than 503: {wrong[:5]}"
    assert back <= BACK_WITHIN, f"back after {back:.1f} s"


def test_postgresql_stopped(
    proxied: tuple[LiveCis, TcpProxy], scale: Scale, figures: Figures
) -> None:
    live, proxy = proxied
    _fault(live, proxy, scale, figures, proxy.stop)


def test_postgresql_silent(
    proxied: tuple[LiveCis, TcpProxy], scale: Scale, figures: Figures
) -> None:
    live, proxy = proxied
    _fault(live, proxy, scale, figures, proxy.silence)
