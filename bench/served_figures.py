"""The HTTP figures: what each sends, how it is timed, and how it is reported (bench/served.py).

Runs in the runner's process, with Django set up on the benchmark's database (served_data
makes the requests). Rates count only answers in 2xx; a file of single-use requests (codes,
challenges) that runs out shows as a warning, never as a faster figure.
"""

from __future__ import annotations

import json
import secrets
import statistics
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import served_data as data
from .served import PEER_CONNECTIONS, Figure, Run, Server, burst, log, wrk

PREFIXES = ("Smi", "Pat", "Wil", "Kha", "Jon", "Tho", "Rob", "Gre")
SUBSTRINGS = ("atso", "ilki", "ingh", "orri", "arke", "ough", "ende", "ussa")
# The directory's latency figures and the request files they send.
LATENCY_FIGURES = {
    "search_prefix_p95_ms": "search_prefix",
    "search_substring_p95_ms": "search_substring",
    "ra_queue_p95_ms": "ra_queue",
    "lsa_home_p95_ms": "lsa_home",
}
OCSP_SIGNED_REQUESTS = 40_000
LATENCY_CONNECTIONS = 2  # p95 figures: two clients at once, so the figure is service, not queue
REVOCATIONS = 10_000
REVOKE_BATCH = 200  # certificates a bulk revocation request names
ISSUES_PER_ROUND = 3_200  # card issues started beforehand per round: 533/s for 6 s, past the goal


@dataclass
class Plan:
    work: Path
    seconds: float
    rounds: int
    connections: int
    only: set[str] = field(default_factory=set)
    files: dict[str, Path] = field(default_factory=dict)
    material: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    revoked: list[str] = field(default_factory=list)
    revocations: list[data.Line] = field(default_factory=list)
    probe: bytes = b""  # an OCSP request that shows a responder is up

    def wanted(self, name: str) -> bool:
        return not self.only or name in self.only

    def _file(self, name: str, lines: Any) -> None:
        self.files[name] = self.work / f"{name}.req"
        self.counts[name] = data.write(self.files[name], lines)

    # Before anything is timed ---------------------------------------------------------------

    def prepare(self) -> None:
        from bench import signin  # noqa: PLC0415
        from bench.harness import Bench  # noqa: PLC0415

        log("preparing the requests ...")
        started = time.monotonic()
        helper = Bench(client=None, data_dir=self.work)  # type: ignore[arg-type]  # no WSGI here
        self._file("trivial", [data.Line("GET", "/bench/trivial")])
        if self.only and self.only <= set(LATENCY_FIGURES):
            self._directory()  # only the directory's latencies: no OCSP, sign-in or grants
            log(f"  done in {time.monotonic() - started:.0f} s")
            return
        cards = signin._world(helper)["cards"]
        # OCSP: the directory's certificates, good and revoked; CIS and OpenSSL get the same.
        serials = data.ocsp_serials(1000)
        cached = data.ocsp_bodies(serials, nonce=False)
        self.probe = cached[0]
        signed = data.ocsp_bodies(serials * (OCSP_SIGNED_REQUESTS // len(serials)), nonce=True)
        for name, bodies in (("ocsp_cached", cached), ("ocsp_signed", signed)):
            for peer, path in (("cis", "/pki/ocsp"), ("openssl", "/")):
                lines = [data.Line("POST", path, b, "application/ocsp-request") for b in bodies]
                self._file(f"{name}_{peer}", lines)
        # Sign-in: a challenge each, and answers to challenges made beforehand, per round.
        self._file(
            "challenge", [data.Line("POST", "/signin/agent/challenge", b"", "application/json")]
        )
        answers_each = int(self.seconds * 1500)
        for n in range(self.rounds):
            self._file(f"respond_{n}", data.login_answers(cards, answers_each))
        self._grants(cards[0]["person"])
        self._directory()
        self.material = data.openssl_material(self.work)
        from cis.pki.ocsp_presign import presign  # noqa: PLC0415

        signed = presign()  # what the scheduled job `presign-ocsp` keeps done
        log(f"  {signed:,} OCSP answers signed ahead of time")
        log(f"  done in {time.monotonic() - started:.0f} s")

    def _grants(self, person: Any) -> None:
        import base64  # noqa: PLC0415
        import hashlib  # noqa: PLC0415
        from urllib.parse import urlencode  # noqa: PLC0415

        from bench import signin  # noqa: PLC0415
        from cis.authz.policy import CONSOLE  # noqa: PLC0415
        from cis.oidc.clients import oidc_client_add  # noqa: PLC0415
        from cis.signin.constants import ACR_AAL3, AMR_SMARTCARD  # noqa: PLC0415
        from cis.signin.models import SignInMethod  # noqa: PLC0415
        from cis.signin.services import session_start  # noqa: PLC0415

        registered = oidc_client_add(
            actor=CONSOLE, name="Bench RP", redirect_uris=["https://rp.bench.example/callback"]
        )
        session = session_start(
            person=person, method=SignInMethod.SMARTCARD, acr=ACR_AAL3, amr=list(AMR_SMARTCARD)
        )
        verifier = "bench-" + "v" * 60
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        app = registered.application

        def body(code: str) -> bytes:
            return urlencode(
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": "https://rp.bench.example/callback",
                    "code_verifier": verifier,
                    "client_id": app.client_id,
                    "client_secret": registered.client_secret,
                }
            ).encode()

        made = signin._codes(None, app, session, challenge, body)  # type: ignore[arg-type]
        for n in range(self.rounds):
            bodies = [next(made) for _ in range(signin.CODES_AHEAD)]
            form = "application/x-www-form-urlencoded"
            self._file(f"grants_{n}", [data.Line("POST", "/oidc/token", b, form) for b in bodies])

    def _directory(self) -> None:
        """Searches, queues and home pages as RA Agents and LSAs; certificates to revoke."""
        from cis.pki.models import Certificate  # noqa: PLC0415
        from cis.pki.states import CertificateStatus  # noqa: PLC0415
        from cis.rights.models import Right, RightGrant  # noqa: PLC0415

        agents = data.staff(Right.RA_AGENT, per_ra=True)
        lsas = data.staff(Right.LSA, per_ra=False)[:20]
        browsers = {a.pk: data.browser_for(a) for a in agents}
        lsa_browsers = [data.browser_for(p) for p in lsas]

        def get(path: str, b: data.Browser) -> data.Line:
            return data.Line("GET", path, cookie=b.cookie)

        self._file(
            "search_prefix",
            [get(f"/api/v1/people/?q={q}", b) for q in PREFIXES for b in browsers.values()],
        )
        self._file(
            "search_substring",
            [get(f"/api/v1/people/?q={q}", b) for q in SUBSTRINGS for b in browsers.values()],
        )
        self._file("ra_queue", [get("/api/v1/requests/?view=open", b) for b in browsers.values()])
        self._file("lsa_home", [get("/", b) for b in lsa_browsers])
        if self.only and self.only <= set(LATENCY_FIGURES):
            return  # no revocations or card issues to prepare
        staff = set(RightGrant.objects.values_list("person_id", flat=True))
        revocations: list[data.Line] = []
        per_ra = REVOCATIONS // len(agents) + 1
        for agent in agents:
            browser = browsers[agent.pk]
            ra = RightGrant.objects.filter(person=agent, right=Right.RA_AGENT).values_list(
                "ra_id", flat=True
            )[0]
            serials = (
                Certificate.objects.filter(
                    status=CertificateStatus.VALID, person__registered_ra_id=ra
                )
                .exclude(person_id__in=staff)
                .order_by("id")
                .values_list("serial_hex", flat=True)[:per_ra]
            )
            mine = [str(s) for s in serials][: REVOCATIONS - len(self.revoked)]
            self.revoked.extend(mine)
            # The bulk endpoint (POST /api/v1/certificates/revoke/), REVOKE_BATCH a request:
            # each certificate still decided by the policy and audited on its own.
            for start in range(0, len(mine), REVOKE_BATCH):
                body = json.dumps(
                    {
                        "serials": mine[start : start + REVOKE_BATCH],
                        "reason": "cessationOfOperation",
                    }
                ).encode()
                revocations.append(
                    data.Line(
                        "POST",
                        "/api/v1/certificates/revoke/",
                        body,
                        "application/json",
                        browser.cookie,
                        browser.csrf,
                    )
                )
        self.revocations = revocations
        self._issuance(agents, browsers)

    def _issuance(self, agents: list[Any], browsers: dict[int, data.Browser]) -> None:
        """Card issues started by RA Agents (a blank card bound to a holder in their area, its
        SO PIN sealed, the operation open), as `POST /api/v1/cards/issue/` starts them; the
        timed request is the agent's next step, the card's CSR for its certificate."""
        from django.db import transaction  # noqa: PLC0415

        from cis.people.models import (  # noqa: PLC0415
            Person,  # noqa: PLC0415
            PersonKind,
            PersonStatus,
        )
        from cis.rights.models import Right, RightGrant  # noqa: PLC0415
        from cis.smartcards.services.issue import card_issue  # noqa: PLC0415

        staff = set(RightGrant.objects.values_list("person_id", flat=True))
        each = ISSUES_PER_ROUND // len(agents) + 1
        made: list[data.Line] = []
        with transaction.atomic():  # one commit for all: preparing, not measuring
            for agent in agents:
                ra = RightGrant.objects.filter(person=agent, right=Right.RA_AGENT).values_list(
                    "ra_id", flat=True
                )[0]
                holders = (
                    Person.objects.filter(
                        registered_ra_id=ra, status=PersonStatus.ACTIVE, kind=PersonKind.PERSON
                    )
                    .exclude(pk__in=staff)
                    .order_by("id")[: each * self.rounds]
                )
                browser = browsers[agent.pk]
                for holder in holders:
                    chip = f"BI{secrets.token_hex(8).upper()}"
                    released = card_issue(
                        actor=agent, holder=holder, chip_serial=chip, holder_present=True
                    )
                    body = {"chip_serial": chip, "csr": data.csr().decode()}
                    made.append(
                        data.Line(
                            "POST",
                            f"/api/v1/card-operations/{released.operation.ref}/certificate/",
                            json.dumps(body).encode(),
                            "application/json",
                            browser.cookie,
                            browser.csrf,
                        )
                    )
        for n in range(self.rounds):
            self._file(f"issue_{n}", made[n :: self.rounds])

    # Timed ----------------------------------------------------------------------------------

    def _run(self, server: Server, name: str, **kwargs: Any) -> Run:
        kwargs.setdefault("seconds", self.seconds)
        kwargs.setdefault("connections", self.connections)
        run = wrk(server.url + "/", self.files[name], **kwargs)
        log(
            f"  {server.name} {name}: {run.rate:,.0f}/s ({run.ok:,} ok of {run.requests:,}, "
            f"{run.errors} socket errors), p50 {run.p50_ms:.1f} ms, p95 {run.p95_ms:.1f} ms"
        )
        return run

    def _trivial(self, cis: Server, **kwargs: Any) -> Run:
        return self._run(cis, "trivial", **kwargs)

    def _peer(self, start: Callable[[], Server], name: str) -> Run:
        peer = start()
        try:
            return self._run(peer, name, connections=PEER_CONNECTIONS)
        finally:
            peer.stop()

    def measure(self, cis: Server, peer: Callable[[], Server]) -> Iterator[Figure]:
        log(f"measuring over HTTP: {self.connections} connections, {self.seconds:.0f} s rounds")
        for _ in range(10):  # warm every worker and thread (imports, connections)
            if self._run(cis, "trivial", seconds=3).ok > 100:
                break
        for kind, goal in (("cached", 1.5), ("signed", 1.0)):
            name = f"http_ocsp_{kind}_vs_openssl"
            if not self.wanted(name):
                continue
            self._run(cis, f"ocsp_{kind}_cis", seconds=2)  # warm the answers (and the caches)
            ours, theirs, trivial = [], [], []
            for _ in range(self.rounds):
                trivial.append(self._trivial(cis).rate)
                theirs.append(self._peer(peer, f"ocsp_{kind}_openssl").rate)
                ours.append(self._run(cis, f"ocsp_{kind}_cis").rate)
            peer_rate = statistics.median(theirs)
            value = statistics.median(ours) / peer_rate if peer_rate else 0.0
            yield Figure(name, value, "x", peer_rate, goal, ratio=value)
        if self.wanted("http_smartcard_logins"):
            yield self._logins(cis)
        if self.wanted("http_token_grants"):
            yield self._rate(cis, "http_token_grants", "grants", "grants/s", 800)
        if self.wanted("http_certificate_issue"):
            yield self._rate(cis, "http_certificate_issue", "issue", "certificates/s", 500)
        for name, file in LATENCY_FIGURES.items():
            if self.wanted(name):
                yield self._latency(cis, name, file, 10 if "prefix" in name else 50)
        if self.wanted("revoke_10k_seconds"):
            yield self._revoke(cis)
        if self.wanted("crl_publish_seconds_1m"):
            yield crl_million()

    def _rate(self, cis: Server, name: str, file: str, unit: str, goal: float) -> Figure:
        ours, trivial = [], []
        for n in range(self.rounds):
            trivial.append(self._trivial(cis).rate)
            run = self._run(cis, f"{file}_{n}")
            if run.ok >= self.counts[f"{file}_{n}"]:
                log(f"  warning: {file} ran out of prepared requests; the figure is a floor")
            ours.append(run.rate)
        trivial.append(self._trivial(cis).rate)
        return Figure(name, statistics.median(ours), unit, statistics.median(trivial), goal)

    def _logins(self, cis: Server) -> Figure:
        """A login is a challenge and an answer: timed apart (the answers need challenges made
        beforehand, each good once), added up as the time one login takes of the server."""
        logins, trivial = [], []
        for n in range(self.rounds):
            trivial.append(self._trivial(cis).rate)
            challenges = self._run(cis, "challenge").rate
            answers = self._run(cis, f"respond_{n}")
            if answers.ok >= self.counts[f"respond_{n}"]:
                log("  warning: the prepared answers ran out; the figure is a floor")
            if challenges and answers.rate:
                logins.append(1 / (1 / challenges + 1 / answers.rate))
        trivial.append(self._trivial(cis).rate)
        return Figure(
            "http_smartcard_logins",
            statistics.median(logins),
            "logins/s",
            statistics.median(trivial),
            500,
        )

    def _latency(self, cis: Server, name: str, file: str, goal: float) -> Figure:
        trivial = self._trivial(cis, connections=LATENCY_CONNECTIONS, threads=1)
        run = self._run(cis, file, connections=LATENCY_CONNECTIONS, threads=1)
        if run.ok < run.requests - run.non2xx or run.non2xx:
            log(f"  warning: {run.non2xx} of {name}'s answers were not 2xx")
        return Figure(name, run.p95_ms, "ms", trivial.p95_ms, goal)

    def _revoke(self, cis: Server) -> Figure:
        """10,000 revocations by RA Agents through the API, then the CRL fetched (published on
        demand) and every revoked certificate asked about over OCSP: the time for all three."""
        from cryptography.x509 import ocsp  # noqa: PLC0415

        count = len(self.revoked)
        asks = [
            data.Line("POST", "/pki/ocsp", body, "application/ocsp-request")
            for body in data.ocsp_bodies(self.revoked, nonce=False)
        ]
        revoking = burst(cis.port, self.revocations, connections=self.connections)
        started = time.monotonic()
        with urllib.request.urlopen(cis.url + "/pki/crl", timeout=120) as answer:  # noqa: S310
            crl = answer.read()
        publishing = time.monotonic() - started
        asking = burst(cis.port, asks, connections=self.connections)
        total = revoking.seconds + publishing + asking.seconds
        done = sum(
            len(json.loads(body)["revoked"]) for status, body in revoking.answers if status == 200
        )
        revoked = sum(
            1
            for status, body in asking.answers
            if status == 200
            and ocsp.load_der_ocsp_response(body).certificate_status == ocsp.OCSPCertStatus.REVOKED
        )
        listed = len(_crl_serials(crl) & set(self.revoked))
        log(
            f"  {done:,} of {count:,} revoked in {revoking.seconds:.1f} s, the CRL published "
            f"in {publishing:.1f} s ({len(crl):,} bytes, {listed:,} of them listed), OCSP "
            f"{asking.seconds:.1f} s ({revoked:,} of them answered revoked)"
        )
        if count == 0 or not done == listed == revoked == count:
            statuses = sorted({status for status, _ in revoking.answers})
            log(f"  warning: not every revocation went through (answers {statuses})")
        return Figure("revoke_10k_seconds", total, "s", count, 10, ratio=count / total)


def _crl_serials(der: bytes) -> set[str]:
    from cryptography import x509  # noqa: PLC0415

    from cis.pki.models import serial_to_hex  # noqa: PLC0415

    return {serial_to_hex(entry.serial_number) for entry in x509.load_der_x509_crl(der)}


def crl_million() -> Figure:
    """Sign a CRL of a million entries with the issuing CA's key, as a publication does."""
    import datetime as dt  # noqa: PLC0415

    from cis.core import clock  # noqa: PLC0415
    from cis.pki import authority, crl  # noqa: PLC0415

    ca = authority.issuing()
    now = clock.now()
    reasons = ("key_compromise", "cessation_of_operation", "affiliation_changed", "unspecified")
    entries = [
        (secrets.token_hex(19), now - dt.timedelta(seconds=n), reasons[n % 4])
        for n in range(1_000_000)
    ]
    started = time.monotonic()
    der = crl.build_crl(
        ca, number=1, this_update=now, next_update=now + dt.timedelta(days=1), revoked=entries
    )
    seconds = time.monotonic() - started
    log(f"  a CRL of 1,000,000 entries: {len(der):,} bytes in {seconds:.1f} s")
    return Figure("crl_publish_seconds_1m", seconds, "s", 1_000_000, 5, ratio=1_000_000 / seconds)
