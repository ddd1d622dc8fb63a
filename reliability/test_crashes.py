"""Crashes: `kill -9` of `cis serve`'s workers and master under a mixed write load, then a count.

The demo world is served by `cis serve` (2 workers) on its own PostgreSQL database. Client threads
keep working as the demo's people would, each over its own connection:

- the Sponsor raises requests to register new starters (each with a name used once);
- the RA Agent approves the raised requests with a face-to-face identity check;
- the RA Agent revokes certificates;
- people sign in to the portal (a session written to the database);
- relying parties ask OCSP about certificates.

Meanwhile a killer sends SIGKILL at random moments: most times to one worker (gunicorn starts
another), some times to the master (everything goes; the service is started again, as systemd
would). A client that gets no answer, or a connection reset, counts its write as unacknowledged:
it may or may not have happened. Then every acknowledged answer is reconciled against the
database and the audit trail:

- lost: an acknowledged raise, approval, revocation or sign-in that is not in the database;
- duplicated: a starter registered twice, a request with two `request.raise` events;
- half-applied: an applied request with no person or position, a person without the request's
  audit events, a revoked certificate without its `certificate.revoke` event (for every row,
  acknowledged or not);
- phantom: an audit event about a request that does not exist (work that did not commit);
- `cis audit verify` intact, and OCSP answering "revoked" for every acknowledged revocation.
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from django.db import connection
from tests.live import LiveCis

from .conftest import Figures, Scale
from .served import start_demo

pytestmark = pytest.mark.timeout(2400)

SPONSOR = "Richard Ashworth"
AGENT = "Daniel Okafor"
BRANCH = "FLM49"  # Hebden Bridge, one of the Sponsor's branches
PHOTO = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()
IDENTITY = {"document_types": ["passport", "utility_bill", "birth_certificate"], "photo": PHOTO}
GONE = (httpx.TransportError, httpx.RemoteProtocolError)

STATE_SCRIPT = """
import json
from cis.audit.models import AuditEvent
from cis.people.models import Person
from cis.pki.models import Certificate
from cis.rbac.models import PositionAssignment
from cis.workflow.models import Request
out = {"requests": [], "people": {}, "revoked": {}, "request_events": {}, "revoke_events": [],
       "all_refs": [r.ref for r in Request.objects.all()]}
crash = Request.objects.filter(request_type="person_register")
for r in crash.filter(payload__family_name__startswith="Crash"):
    out["requests"].append({"ref": r.ref, "state": r.state, "family_name": r.payload["family_name"],
                            "result_ref": r.result_ref})
for p in Person.objects.filter(family_name__startswith="Crash"):
    out["people"].setdefault(p.family_name, []).append(
        {"user_id": p.user_id, "positions": PositionAssignment.objects.filter(person=p).count()})
for c in Certificate.objects.exclude(revoked_at=None):
    out["revoked"][c.serial_hex] = c.status
for e in AuditEvent.objects.filter(target_type="request").values("target_ref", "action"):
    out["request_events"].setdefault(e["target_ref"], []).append(e["action"])
for e in AuditEvent.objects.filter(action="certificate.revoke").values("target_ref"):
    out["revoke_events"].append(e["target_ref"])
print(json.dumps(out))
"""

SERIALS_SCRIPT = """
import json
from cis.pki.models import Certificate
rows = [{"serial": c.serial_hex, "der": __import__("base64").b64encode(bytes(c.der)).decode(),
         "user_id": c.person.user_id}
        for c in Certificate.objects.filter(status="valid", revoked_at=None)
                                    .select_related("person")]
print(json.dumps(rows))
"""


@dataclass
class Ledger:
    """What the server acknowledged (2xx with the result), and what was left in doubt."""

    raised: dict[str, str] = field(default_factory=dict)  # family name -> request id
    approved: set[str] = field(default_factory=set)  # request ids
    revoked: set[str] = field(default_factory=set)  # certificate serials (hex)
    sessions: list[httpx.Client] = field(default_factory=list)
    in_doubt: int = 0
    refused: int = 0
    answers: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def doubt(self) -> None:
        with self.lock:
            self.in_doubt += 1


@dataclass
class Serving:
    """The served world, and the port it keeps across restarts."""

    live: LiveCis
    up: threading.Event = field(default_factory=threading.Event)


def _sign_in(live: LiveCis, user_id: str) -> httpx.Client | None:
    client = live.client(timeout=30)
    try:
        form = client.get("/sign-in/demo/")
        if form.status_code != 200:
            client.close()
            return None
        answer = client.post(
            "/sign-in/demo/",
            data={"user_id": user_id, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        )
    except GONE:
        client.close()
        return None
    if answer.status_code != 302:
        client.close()
        return None
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client


def _wait_up(serving: Serving, stop: threading.Event) -> bool:
    while not serving.up.is_set():
        if stop.is_set():
            return False
        serving.up.wait(0.2)
    return True


def _session(serving: Serving, user_id: str, stop: threading.Event) -> httpx.Client | None:
    while not stop.is_set():
        if not _wait_up(serving, stop):
            return None
        client = _sign_in(serving.live, user_id)
        if client is not None:
            return client
        time.sleep(0.2)  # the server is restarting: try again shortly
    return None


def _raiser(serving: Serving, ledger: Ledger, sponsor: str, stop: threading.Event, n0: int) -> None:
    client = _session(serving, sponsor, stop)
    n = n0
    while client is not None and not stop.is_set():
        if not _wait_up(serving, stop):
            break
        n += 1
        family = f"Crash{n:05d}"
        body = {
            "request_type": "person_register",
            "payload": {
                "ods_code": BRANCH,
                "given_name": "Kim",
                "family_name": family,
                "date_of_birth": f"19{60 + n % 40}-0{1 + n % 9}-1{n % 10}",
            },
        }
        try:
            answer = client.post("/api/v1/requests/", json=body)
        except GONE:
            ledger.doubt()
            continue
        with ledger.lock:
            ledger.answers += 1
            if answer.status_code == 201:
                ledger.raised[family] = str(answer.json()["id"])
            elif answer.status_code >= 500:
                ledger.in_doubt += 1
            else:
                ledger.errors.append(f"raise {family}: {answer.status_code} {answer.text[:200]}")


def _approver(serving: Serving, ledger: Ledger, agent: str, stop: threading.Event) -> None:
    client = _session(serving, agent, stop)
    tried: set[str] = set()
    while client is not None and not stop.is_set():
        with ledger.lock:
            waiting = [i for i in ledger.raised.values() if i not in tried]
        if not waiting:
            time.sleep(0.05)  # nothing raised yet: wait for the Sponsor
            continue
        request_id = waiting[0]
        tried.add(request_id)
        try:
            answer = client.post(
                f"/api/v1/requests/{request_id}/approve/", json={"identity": IDENTITY}
            )
        except GONE:
            ledger.doubt()
            continue
        with ledger.lock:
            ledger.answers += 1
            if answer.status_code == 200 and answer.json().get("state") == "applied":
                ledger.approved.add(request_id)
            elif answer.status_code == 409:  # the other RA Agent decided it first
                ledger.refused += 1
            elif answer.status_code >= 500:
                ledger.in_doubt += 1
            else:
                ledger.errors.append(
                    f"approve {request_id}: {answer.status_code} {answer.text[:200]}"
                )


def _revoker(
    serving: Serving, ledger: Ledger, agent: str, serials: list[str], stop: threading.Event
) -> None:
    client = _session(serving, agent, stop)
    for serial in serials:
        if client is None or stop.is_set() or not _wait_up(serving, stop):
            break
        try:
            answer = client.post(
                f"/api/v1/certificates/{serial}/revoke/", json={"reason": "superseded"}
            )
        except GONE:
            ledger.doubt()
            continue
        with ledger.lock:
            ledger.answers += 1
            if answer.status_code == 200:
                ledger.revoked.add(serial)
            elif answer.status_code >= 500:
                ledger.in_doubt += 1
            else:
                ledger.errors.append(f"revoke {serial}: {answer.status_code} {answer.text[:200]}")
        time.sleep(0.2)  # one revocation every so often, among the other work


def _signer_in(
    serving: Serving, ledger: Ledger, user_ids: list[str], stop: threading.Event
) -> None:
    n = 0
    while not stop.is_set():
        if not _wait_up(serving, stop):
            break
        client = _sign_in(serving.live, user_ids[n % len(user_ids)])
        n += 1
        with ledger.lock:
            ledger.answers += 1
            if client is not None:
                ledger.sessions.append(client)
            else:
                ledger.in_doubt += 1
        time.sleep(0.1)  # sign-ins arrive now and then


def _workers(master: int) -> list[int]:
    found = subprocess.run(  # noqa: S603, S607 - a fixed system command
        ["pgrep", "-P", str(master)], capture_output=True, text=True, check=False
    )
    return [int(p) for p in found.stdout.split()]


def _gone(pgid: int, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)  # waiting for the orphaned workers to notice their master went
    os.killpg(pgid, signal.SIGKILL)


def _killer(serving: Serving, kills: int, rng: random.Random, seen: dict[str, int]) -> None:
    live = serving.live
    for n in range(kills):
        time.sleep(rng.uniform(2.0, 6.0))  # a random moment in the load
        process = live.process
        assert process is not None
        if n % 4 == 3:  # the master: everything goes, and the service is started again
            serving.up.clear()
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            _gone(process.pid)
            live.process = None
            live.start(workers=2)
            serving.up.set()
            seen["master"] += 1
        else:
            workers = _workers(process.pid)
            if workers:
                os.kill(rng.choice(workers), signal.SIGKILL)
                seen["worker"] += 1


def _state(live: LiveCis) -> dict[str, object]:
    printed = live.shell(STATE_SCRIPT).strip().splitlines()[-1]
    return dict(json.loads(printed))


def _ocsp_status(live: LiveCis, der: bytes, issuer: x509.Certificate) -> str:
    cert = x509.load_der_x509_certificate(der)
    built = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()  # noqa: S303 - RFC 6960's CertID
    answer = httpx.post(
        f"{live.url}/pki/ocsp",
        content=built.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
        timeout=30,
    )
    response = ocsp.load_der_ocsp_response(answer.content)
    return response.certificate_status.name.lower()


@pytest.fixture
def crashing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCis]:
    if connection.vendor != "postgresql":
        pytest.skip("the crash check runs on PostgreSQL, as a deployment with workers does")
    live = start_demo(tmp_path_factory.mktemp("crashes"))
    try:
        yield live
    finally:
        live.close()


def test_kill_9_under_a_mixed_load_loses_nothing(
    crashing: LiveCis, scale: Scale, figures: Figures
) -> None:
    live = crashing
    rng = random.Random(int(os.environ.get("CIS_RELIABILITY_SEED", "17")))  # noqa: S311 - not for secrets
    kills = scale.pick(short=4, full=20)
    people = {p["name"]: p["user_id"] for p in live.personas}
    rows = json.loads(live.shell(SERIALS_SCRIPT).strip().splitlines()[-1])
    ders = {row["serial"]: base64.b64decode(row["der"]) for row in rows}
    # Not the RA Agent's own (nobody acts on their own record): everyone else's is fair game.
    others = sorted(row["serial"] for row in rows if row["user_id"] != people[AGENT])
    to_revoke = others[: scale.pick(short=12, full=60)]
    issuer = x509.load_der_x509_certificate(httpx.get(f"{live.url}/pki/issuing-ca.cer").content)

    serving, ledger, stop = Serving(live), Ledger(), threading.Event()
    serving.up.set()
    holders = [p["user_id"] for p in live.personas]
    threads = [
        threading.Thread(
            target=_raiser, args=(serving, ledger, people[SPONSOR], stop, 1000 * i), daemon=True
        )
        for i in range(3)
    ]
    threads += [
        threading.Thread(target=_approver, args=(serving, ledger, people[AGENT], stop), daemon=True)
        for _ in range(2)
    ]
    threads.append(
        threading.Thread(
            target=_revoker, args=(serving, ledger, people[AGENT], to_revoke, stop), daemon=True
        )
    )
    threads.append(
        threading.Thread(target=_signer_in, args=(serving, ledger, holders, stop), daemon=True)
    )
    seen = {"worker": 0, "master": 0}
    for thread in threads:
        thread.start()
    try:
        _killer(serving, kills, rng, seen)
        time.sleep(2)  # the last stretch of load after the last kill
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)

    state = _state(live)
    requests = {r["family_name"]: r for r in state["requests"]}  # type: ignore[union-attr]
    by_ref = {r["ref"]: r for r in state["requests"]}  # type: ignore[union-attr]
    people_made: dict[str, list[dict[str, object]]] = state["people"]  # type: ignore[assignment]
    events: dict[str, list[str]] = state["request_events"]  # type: ignore[assignment]
    revoked_rows: dict[str, str] = state["revoked"]  # type: ignore[assignment]
    revoke_events = set(state["revoke_events"])  # type: ignore[arg-type]
    all_refs = set(state["all_refs"])  # type: ignore[arg-type]

    lost = [f"raise {f}" for f in ledger.raised if f not in requests]
    approved_refs = {f"REQ-{int(i):06d}" for i in ledger.approved}
    lost += [
        f"approve {ref}" for ref in approved_refs if by_ref.get(ref, {}).get("state") != "applied"
    ]
    lost += [f"revoke {s}" for s in ledger.revoked if s not in revoked_rows]
    duplicated = [f for f, made in people_made.items() if len(made) > 1]
    duplicated += [ref for ref, acts in events.items() if acts.count("request.raise") > 1]
    half = []
    for row in state["requests"]:  # type: ignore[union-attr]
        acts = events.get(row["ref"], [])
        if "request.raise" not in acts:
            half.append(f"{row['ref']} has no request.raise event")
        if row["state"] == "applied":
            made = people_made.get(row["family_name"], [])
            if len(made) != 1 or not row["result_ref"]:
                half.append(f"{row['ref']} applied, but {len(made)} people made")
            if "request.approve" not in acts:
                half.append(f"{row['ref']} applied with no request.approve event")
    half += [
        f"{family}: a person with no applied request"
        for family in people_made
        if requests.get(family, {}).get("state") != "applied"
    ]
    half += [
        f"{s} revoked with no event" for s in revoked_rows if s in ders and s not in revoke_events
    ]
    phantom = [ref for ref in events if ref not in all_refs]
    lost_sessions = 0
    for client in ledger.sessions:
        try:
            if client.get("/api/v1/me/").status_code != 200:
                lost_sessions += 1
        finally:
            client.close()
    ocsp_wrong = [s for s in ledger.revoked if _ocsp_status(live, ders[s], issuer) != "revoked"]
    verified = live.cis("audit", "verify", check=False)

    figures["kills_worker"] = seen["worker"]
    figures["kills_master"] = seen["master"]
    figures["answers"] = ledger.answers
    figures["acknowledged"] = (
        len(ledger.raised) + len(ledger.approved) + len(ledger.revoked) + len(ledger.sessions)
    )
    figures["in_doubt"] = ledger.in_doubt
    figures["refused"] = ledger.refused
    figures["lost"] = len(lost) + lost_sessions
    figures["duplicated"] = len(duplicated)
    figures["half_applied"] = len(half)
    figures["phantom_events"] = len(phantom)
    figures["ocsp_not_revoked"] = len(ocsp_wrong)
    figures["audit_intact"] = verified.returncode == 0
    assert not ledger.errors, ledger.errors[:5]
    assert seen["master"] >= 1 and seen["worker"] >= 1
    assert not lost, lost[:10]
    assert not lost_sessions, f"{lost_sessions} acknowledged sign-ins lost"
    assert not duplicated, duplicated[:10]
    assert not half, half[:10]
    assert not phantom, phantom[:10]
    assert not ocsp_wrong, ocsp_wrong[:10]
    assert verified.returncode == 0, verified.stdout + verified.stderr
