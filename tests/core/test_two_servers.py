"""Two `cis serve` processes on one PostgreSQL database, as two machines behind a load balancer.

Whatever one server learns, the other knows: a rate limit's allowance is shared, not doubled
(cis.core.ratelimit counts in the database); a sign-in made on one is good on the other; and
the OCSP answers one signs are served by the other, until a revocation through either makes
both answer "revoked" at once (cis.pki.ocsp_cache keeps them in the database). Nothing else
is cached per process but compiled SQL. Scheduled jobs run on two machines at once are tested
in reliability/test_races.py (test_two_job_runs_on_two_machines: each email sent once).

The module starts a PostgreSQL server of its own (tests/pgcluster.py), so it runs whatever
database the rest of the suite uses.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp

from tests.live import LiveCis, ocsp_answer, ocsp_request
from tests.pgcluster import PostgresPair, postgres_pair

CARD_STEPS_PER_MINUTE = 30  # CardThrottle: the card steps open to anyone, per client address
WINDOW_SECONDS = 60


@pytest.fixture(scope="module")
def pair() -> Iterator[PostgresPair]:
    with postgres_pair(replica=False) as started:
        started.primary.query("CREATE DATABASE cis")
        yield started


@pytest.fixture(scope="module")
def servers(
    pair: PostgresPair, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveCis, LiveCis]]:
    """The demo world on one database and one data directory, served by two processes."""
    data_dir = tmp_path_factory.mktemp("cis-two")
    first = LiveCis(data_dir, database_url=pair.primary.url("cis"))
    second = LiveCis(data_dir, database_url=pair.primary.url("cis"), log_name="serve-2.log")
    try:
        first.load_demo()
        first.start()
        second.start(args=("--skip-collectstatic",))
        yield first, second
    finally:
        second.close()
        first.close()


def _at_a_window_start() -> None:
    """Wait for a fresh rate-limit window if this one is half gone, so a burst fits in one.

    The limit is a sliding window made of fixed minute windows; a burst that crossed into the
    next minute would be allowed a little more, by design.
    """
    into = time.time() % WINDOW_SECONDS
    if into > WINDOW_SECONDS / 2:
        time.sleep(WINDOW_SECONDS - into + 0.5)  # waiting for the window, not timing anything


def test_a_rate_limit_is_shared_by_both_servers_not_doubled(
    servers: tuple[LiveCis, LiveCis],
) -> None:
    _at_a_window_start()
    statuses: list[Counter[int]] = [Counter(), Counter()]
    clients = [httpx.Client(base_url=s.url, timeout=60) for s in servers]
    try:
        for n in range(2 * CARD_STEPS_PER_MINUTE + 10):
            # A load balancer's round robin, from one client address.
            statuses[n % 2][clients[n % 2].post("/api/v1/agent/challenge/").status_code] += 1
    finally:
        for client in clients:
            client.close()
    allowed = sum(counts[201] for counts in statuses)
    assert all(set(counts) <= {201, 429} for counts in statuses), statuses
    assert allowed == CARD_STEPS_PER_MINUTE, statuses  # one allowance, not one per server
    assert all(counts[201] and counts[429] for counts in statuses), statuses  # both counted


def test_a_sign_in_and_ocsp_answers_are_shared_and_a_revocation_shows_on_both_at_once(
    servers: tuple[LiveCis, LiveCis],
) -> None:
    first, second = servers
    holder = first.persona("Jack Pearson")["user_id"]
    agent = first.persona("Daniel Okafor")["user_id"]
    with first.signed_in(agent) as on_first:
        # The session lives in the database: the cookie from the first server works on the second.
        on_second = second.client(cookies=on_first.cookies, headers=on_first.headers)
        with on_second:
            me = on_second.get("/api/v1/me/")
            assert me.status_code == 200, me.text
            assert me.json()["user_id"] == agent

            listed = on_first.get(
                "/api/v1/certificates/", params={"person": holder, "status": "valid"}
            )
            assert listed.status_code == 200, listed.text
            serial = listed.json()["results"][0]["serial"]
            pem = on_first.get(f"/api/v1/certificates/{serial}/").json()["pem"]
            request = ocsp_request(on_first, pem)

            def answer(client: httpx.Client) -> ocsp.OCSPResponse:
                return ocsp_answer(client, request)

            signed = answer(on_first)
            assert signed.certificate_status == ocsp.OCSPCertStatus.GOOD
            # The second server serves the very answer the first signed (an ECDSA signature is
            # never the same twice): the pre-signed answers are shared, in the database.
            served = answer(on_second)
            assert served.public_bytes(serialization.Encoding.DER) == signed.public_bytes(
                serialization.Encoding.DER
            )

            revoked = on_second.post(
                f"/api/v1/certificates/{serial}/revoke/", json={"reason": "keyCompromise"}
            )
            assert revoked.status_code == 200, revoked.text
            # At once on both, although the first had an answer "good" ready to serve.
            assert answer(on_first).certificate_status == ocsp.OCSPCertStatus.REVOKED
            assert answer(on_second).certificate_status == ocsp.OCSPCertStatus.REVOKED
