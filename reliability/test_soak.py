"""Soak: mixed load at a steady rate for 10 minutes (1 in the short version), then the figures.

The run's shared demo world on `cis serve` (2 workers) takes, at a fixed rate from several
clients on different loopback addresses: portal pages, API reads as a signed-in person, OCSP
requests, the CRL, sign-in challenges, and requests raised by the Sponsor. Every answer is
timed. The check passes with 0 errors (no 5xx, no answer other than the one each step expects,
no connection failure), p95 under 300 ms, and no worker's memory (resident set) grown by more
than 10 % between the end of the warm-up (the first tenth) and the end.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from django.db import connection
from tests.live import LiveCis

from .conftest import Figures, Scale
from .served import addresses, client_from, demo_cards
from .test_crashes import _workers

pytestmark = pytest.mark.timeout(1800)
RATE_PER_SECOND = 20  # the steady rate over all clients
CLIENTS = 4
P95_LIMIT_MS = 300
MEMORY_GROWTH_LIMIT = 0.10


@dataclass
class Soaked:
    times_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    by_step: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


Step = Callable[[httpx.Client], tuple[httpx.Response, set[int]]]


def _steps(live: LiveCis, sponsor: httpx.Client, reader: httpx.Client) -> list[tuple[str, Step]]:
    card = demo_cards(live)[0]
    issuer = x509.load_der_x509_certificate(httpx.get(f"{live.url}/pki/issuing-ca.cer").content)
    cert = x509.load_der_x509_certificate(__import__("base64").b64decode(card.certificate))
    query = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()  # noqa: S303 - RFC 6960's CertID
    der = query.public_bytes(serialization.Encoding.DER)
    names = itertools.count()

    def raise_request(_: httpx.Client) -> tuple[httpx.Response, set[int]]:
        n = next(names)
        body = {
            "request_type": "person_register",
            "payload": {
                "ods_code": "FLM49",
                "given_name": "Sam",
                "family_name": f"Soak{n:06d}",
                "date_of_birth": f"19{60 + n % 40}-0{1 + n % 9}-1{n % 10}",
            },
        }
        return sponsor.post("/api/v1/requests/", json=body), {201}

    return [
        ("portal", lambda c: (c.get("/sign-in/"), {200})),
        ("api_read", lambda _: (reader.get("/api/v1/me/"), {200})),
        ("api_list", lambda _: (reader.get("/api/v1/requests/"), {200})),
        (
            "ocsp",
            lambda c: (
                c.post(
                    "/pki/ocsp", content=der, headers={"Content-Type": "application/ocsp-request"}
                ),
                {200},
            ),
        ),
        ("crl", lambda c: (c.get("/pki/crl"), {200})),
        ("challenge", lambda c: (c.post("/signin/agent/challenge"), {201})),
        ("raise", raise_request),
    ]


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _memory(live: LiveCis) -> dict[int, int]:
    assert live.process is not None
    return {pid: _rss_kib(pid) for pid in _workers(live.process.pid)}


def test_steady_mixed_load(demo: LiveCis, scale: Scale, figures: Figures) -> None:
    """On the run's shared demo world (after schemathesis has worked it over)."""
    if connection.vendor != "postgresql":
        pytest.skip("the soak runs on PostgreSQL, as a deployment with workers does")
    live = demo
    seconds = scale.pick(short=60, full=600)
    sponsor_id = live.persona("Richard Ashworth")["user_id"]
    reader_id = live.persona("Daniel Okafor")["user_id"]
    soaked, stop = Soaked(), threading.Event()
    with live.signed_in(sponsor_id) as sponsor, live.signed_in(reader_id) as reader:
        steps = _steps(live, sponsor, reader)
        interval = CLIENTS / RATE_PER_SECOND
        places = addresses()
        shared = threading.Lock()  # the two signed-in clients are shared: one call at a time

        def client_loop(index: int) -> None:
            order = itertools.cycle(steps[index % len(steps) :] + steps[: index % len(steps)])
            client = client_from(live.url, next(places))
            next_at = time.monotonic()
            calls = 0
            while not stop.is_set():
                name, step = next(order)
                if calls % 25 == 24:  # a fresh address now and then: per-address limits
                    client.close()
                    client = client_from(live.url, next(places))
                calls += 1
                started = time.monotonic()
                try:
                    if name in ("api_read", "api_list", "raise"):
                        with shared:
                            started = time.monotonic()
                            answer, expected = step(client)
                    else:
                        answer, expected = step(client)
                    outcome = answer.status_code
                    wrong = outcome not in expected
                except httpx.HTTPError as exc:
                    outcome, wrong = type(exc).__name__, True  # type: ignore[assignment]
                took = (time.monotonic() - started) * 1000
                with soaked.lock:
                    soaked.times_ms.append(took)
                    soaked.by_step[name] = soaked.by_step.get(name, 0) + 1
                    if wrong:
                        soaked.errors.append(f"{name}: {outcome}")
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))  # the steady rate
            client.close()

        threads = [
            threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(seconds / 10)  # the warm-up
        before = _memory(live)
        time.sleep(seconds - seconds / 10)
        after = _memory(live)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    times = sorted(soaked.times_ms)
    p95 = times[int(len(times) * 0.95)] if times else float("inf")
    growth = max(
        (
            (after[pid] - before[pid]) / before[pid]
            for pid in before
            if pid in after and before[pid]
        ),
        default=0.0,
    )
    figures["seconds"] = seconds
    figures["requests"] = len(times)
    figures["rate_per_s"] = len(times) / seconds
    figures["errors"] = len(soaked.errors)
    figures["p50_ms"] = times[len(times) // 2] if times else 0.0
    figures["p95_ms"] = p95
    figures["worker_rss_mib"] = ",".join(f"{v / 1024:.0f}" for v in after.values())
    figures["memory_growth"] = growth
    figures["workers_replaced"] = len(set(before) - set(after))
    assert not soaked.errors, soaked.errors[:10]
    assert p95 < P95_LIMIT_MS, f"p95 {p95:.0f} ms"
    assert set(before) == set(after), "a worker was replaced during the soak"
    assert growth <= MEMORY_GROWTH_LIMIT, f"a worker's memory grew by {growth:.0%}"
