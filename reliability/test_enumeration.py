"""Not signed in, nobody can tell whether a user id or a card exists: by status, body or timing.

For each place where an anonymous caller names a person or a card, the check sends the same
request about things that exist (the demo's people and cards) and things that do not (ids and
chip serials of the same shape), interleaved in random order, 1,000 tries each (100 in the short
version). The answers must be the same set of (status, body) for both; and the response times
must not differ: a Mann-Whitney U test over the two samples must not reject "same distribution"
at p < 0.001. The tries are spread over loopback addresses, as an attacker's would be, so that
the per-address rate limits do not end the experiment early.

No anonymous endpoint takes an email address (contact changes need a signed-in holder), so an
email cannot be probed; the person search is checked to refuse anonymous callers before it looks.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import secrets
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from scipy.stats import mannwhitneyu
from tests.live import LiveCis

from .conftest import Figures, Scale
from .served import DemoCard, addresses, b64, client_from, demo_cards

pytestmark = pytest.mark.timeout(1800)
P_VALUE = 0.001
TRIES_PER_ADDRESS = 12  # under every per-address limit (the card steps allow 30 a minute)


def _stranger_certificate() -> bytes:
    """A certificate CIS never issued, as an attacker without the card would present."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stranger")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _like(text: str) -> str:
    """Another string of the same shape: each digit and letter replaced by a random one."""
    return "".join(
        str(secrets.randbelow(10))
        if c.isdigit()
        else secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ")
        if c.isalpha()
        else c
        for c in text
    )


# Parts of an answer that differ on every request whatever is asked (none expected today).
VOLATILE = re.compile(r'"(expires_at|request_id|correlation_id)":\s*"[^"]*"')


@dataclass
class Sample:
    answers: dict[str, set[tuple[int, str]]] = field(
        default_factory=lambda: {"present": set(), "absent": set()}
    )
    times: dict[str, list[float]] = field(default_factory=lambda: {"present": [], "absent": []})


Probe = Callable[[httpx.Client, str], tuple[httpx.Response, float]]


def _timed(send: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    answer = send()
    return answer, (time.perf_counter() - started) * 1000


def _experiment(
    live: LiveCis, tries: int, present: list[str], absent: Callable[[], str], probe: Probe
) -> Sample:
    sample = Sample()
    order = ["present", "absent"] * tries
    random.shuffle(order)
    pool = addresses()
    client: httpx.Client | None = None
    try:
        for n, kind in enumerate(order):
            if n % TRIES_PER_ADDRESS == 0:
                if client is not None:
                    client.close()
                client = client_from(live.url, next(pool))
            assert client is not None
            subject = random.choice(present) if kind == "present" else absent()
            answer, ms = probe(client, subject)
            assert answer.status_code != 429, "rate-limited: spread the tries wider"
            assert answer.status_code < 500, answer.text
            sample.answers[kind].add((answer.status_code, VOLATILE.sub("", answer.text)))
            sample.times[kind].append(ms)
    finally:
        if client is not None:
            client.close()
    return sample


def _judge(sample: Sample, figures: Figures, tries: int) -> None:
    present, absent = sample.times["present"], sample.times["absent"]
    p_value = float(mannwhitneyu(present, absent, alternative="two-sided").pvalue)
    figures["tries_each"] = tries
    figures["answers"] = len(sample.answers["present"] | sample.answers["absent"])
    figures["median_present_ms"] = statistics.median(present)
    figures["median_absent_ms"] = statistics.median(absent)
    figures["p_value"] = p_value
    assert sample.answers["present"] == sample.answers["absent"], (
        "the answers differ:\n"
        f"present: {sorted(sample.answers['present'])[:3]}\n"
        f"absent: {sorted(sample.answers['absent'])[:3]}"
    )
    assert p_value >= P_VALUE, f"response times tell them apart (p = {p_value:.2g})"


@pytest.fixture(scope="module")
def cards(demo: LiveCis) -> list[DemoCard]:
    found = demo_cards(demo)
    assert found, "the demo world has no active cards"
    return found


def test_card_at_the_self_unlock_step(
    demo: LiveCis,
    cards: list[DemoCard],
    scale: Scale,
    figures: Figures,
) -> None:
    """`POST /api/v1/cards/<chip>/self-unlock/code/` with a certificate CIS never issued."""
    tries = scale.pick(short=100, full=1000)
    stranger = b64(_stranger_certificate())

    def probe(client: httpx.Client, chip: str) -> tuple[httpx.Response, float]:
        body = {"certificate": stranger, "channel": ""}
        return _timed(lambda: client.post(f"/api/v1/cards/{chip}/self-unlock/code/", json=body))

    serials = [c.chip_serial for c in cards]
    sample = _experiment(demo, tries, serials, lambda: _like(random.choice(serials)), probe)
    _judge(sample, figures, tries)


def test_card_at_the_agent_sign_in(
    demo: LiveCis,
    cards: list[DemoCard],
    scale: Scale,
    figures: Figures,
) -> None:
    """`POST /api/v1/agent/sign-in/`: a real card's serial and certificate, a forged signature."""
    tries = scale.pick(short=100, full=1000)
    by_serial = {c.chip_serial: c.certificate for c in cards}
    stranger = b64(_stranger_certificate())

    def probe(client: httpx.Client, chip: str) -> tuple[httpx.Response, float]:
        challenge = client.post("/api/v1/agent/challenge/").json()["challenge"]
        body = {
            "chip_serial": chip,
            "certificate": by_serial.get(chip, stranger),
            "challenge": challenge,
            "signature": b64(secrets.token_bytes(70)),
        }
        return _timed(lambda: client.post("/api/v1/agent/sign-in/", json=body))

    serials = list(by_serial)
    sample = _experiment(demo, tries, serials, lambda: _like(random.choice(serials)), probe)
    _judge(sample, figures, tries)


def test_card_at_the_browser_sign_in(
    demo: LiveCis,
    cards: list[DemoCard],
    scale: Scale,
    figures: Figures,
) -> None:
    """`POST /signin/agent/respond`: a real card's serial and certificate, a forged signature."""
    tries = scale.pick(short=100, full=1000)
    by_serial = {c.chip_serial: c.certificate for c in cards}
    stranger = b64(_stranger_certificate())

    def probe(client: httpx.Client, chip: str) -> tuple[httpx.Response, float]:
        challenge = client.post("/signin/agent/challenge").json()["challenge_id"]
        body = {
            "challenge_id": challenge,
            "chip_serial": chip,
            "certificate": by_serial.get(chip, stranger),
            "signature": b64(secrets.token_bytes(70)),
        }
        return _timed(
            lambda: client.post(
                "/signin/agent/respond",
                content=json.dumps(body),
                headers={"Content-Type": "application/json"},
            )
        )

    serials = list(by_serial)
    sample = _experiment(demo, tries, serials, lambda: _like(random.choice(serials)), probe)
    _judge(sample, figures, tries)


def test_person_by_user_id(
    demo: LiveCis,
    cards: list[DemoCard],
    scale: Scale,
    figures: Figures,
) -> None:
    """`GET /api/v1/people/<user id>/` and the search by email, not signed in."""
    tries = scale.pick(short=100, full=1000)
    user_ids = sorted({c.user_id for c in cards})

    def probe(client: httpx.Client, user_id: str) -> tuple[httpx.Response, float]:
        return _timed(lambda: client.get(f"/api/v1/people/{user_id}/"))

    sample = _experiment(demo, tries, user_ids, lambda: _like(random.choice(user_ids)), probe)
    _judge(sample, figures, tries)
    with client_from(demo.url, "127.0.0.1") as client:
        known = client.get("/api/v1/people/", params={"q": f"{user_ids[0]}@example.nhs.uk"})
        unknown = client.get("/api/v1/people/", params={"q": "nobody@example.nhs.uk"})
    assert (known.status_code, known.text) == (unknown.status_code, unknown.text)
    assert known.status_code in (401, 403)
