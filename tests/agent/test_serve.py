"""`cis-agent serve`: card tasks from the portal, carried out on the card, and its local guard.

The agent's task logic runs here against the real API in-process (httpx over WSGI); its HTTP
face (Origin, CORS, Private Network Access) is checked over a real socket. The browser journeys
with the agent as a process of its own are in tests/portal/test_card_journeys.py.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from cis.audit.verify import verify
from cis.core import clock
from cis.core.errors import NotPermitted
from cis.people.models import Person
from cis.pki.models import Certificate
from cis.signin.constants import ACR_AAL1, AMR_DEMO
from cis.signin.models import EndReason, SignInMethod, SignInSession
from cis.signin.services import session_expire, session_start
from cis.smartcards.models import CardTask, Smartcard
from cis.smartcards.services import tasks
from cis_agent import cli
from cis_agent.errors import AgentError
from cis_agent.readers import Reader
from cis_agent.serve import AgentService
from cis_card.base import Card

from .conftest import PASSCODE, Agent, Cast

pytestmark = pytest.mark.django_db
virtual = pytest.mark.parametrize("kind", ["virtual"], indirect=True)
RETURN = "http://testserver/my-smartcard/"


def _session(person: Person) -> SignInSession:
    return session_start(person=person, method=SignInMethod.DEMO, acr=ACR_AAL1, amr=list(AMR_DEMO))


def _row(card: Card) -> Smartcard:
    return Smartcard.objects.get(chip_serial=card.serial())


@pytest.fixture
def service_for(agent: Agent) -> Callable[[Card], AgentService]:
    """An agent service whose reader holds exactly this card (its file)."""

    def make(card: Card) -> AgentService:
        return AgentService(
            server="http://testserver",
            readers=[Reader("virtual", str(Path(card.spec.removeprefix("virtual:"))))],
            transport=cli.transport,
        )

    return make


def _task(
    actor: Person, kind: str, card: Card, session: SignInSession | None = None
) -> tuple[str, str]:
    started = tasks.card_task_start(
        actor=actor,
        kind=kind,
        signin_session_ref=str((session or _session(actor)).ref),
        card=_row(card),
    )
    return started.task.ref, started.secret


@virtual
def test_a_holder_renews_in_the_window_through_a_task(
    cast: Cast, issued_card: Callable[..., Card], service_for: Callable[[Card], AgentService]
) -> None:
    card = issued_card(cast.holder)
    old = Certificate.objects.get(card_link__card__chip_serial=card.serial())
    clock.travel(old.not_after - clock.now() - dt.timedelta(days=30))
    ref, secret = _task(cast.holder, "renew", card)
    service = service_for(card)
    pending = service.accept(ref, secret, RETURN)
    assert pending.task["kind_label"] == "Renew the certificate"
    assert pending.task["holder"]["user_id"] == cast.holder.user_id
    wrong = service.carry_out(pending, {"passcode": "0000"})
    assert not wrong.ok and wrong.retry, "a typing mistake changes nothing in CIS"
    assert CardTask.objects.get(ref=ref).claimed_at is None
    done = service.carry_out(pending, {"passcode": PASSCODE})
    assert done.ok, done.message
    old.refresh_from_db()
    assert old.status == "superseded"
    task = CardTask.objects.get(ref=ref)
    assert (task.outcome, task.claimed_chip) == ("done", card.serial())
    # Single use: the same task handed over again is refused, and nothing changes.
    with pytest.raises(AgentError, match="already used or expired"):
        service.accept(ref, secret, RETURN)
    assert verify().intact


@virtual
def test_a_holder_changes_the_passcode_and_cis_records_it(
    cast: Cast, issued_card: Callable[..., Card], service_for: Callable[[Card], AgentService]
) -> None:
    card = issued_card(cast.holder)
    ref, secret = _task(cast.holder, "change_passcode", card)
    service = service_for(card)
    pending = service.accept(ref, secret, RETURN)
    mismatch = service.carry_out(pending, {"current": PASSCODE, "new": "9753", "confirm": "9754"})
    assert not mismatch.ok and mismatch.retry
    done = service.carry_out(pending, {"current": PASSCODE, "new": "9753", "confirm": "9753"})
    assert done.ok, done.message
    card.verify_passcode("9753")
    assert CardTask.objects.get(ref=ref).outcome == "done"
    assert verify().intact


@virtual
def test_self_unlock_and_assisted_unlock_through_tasks(
    cast: Cast,
    issued_card: Callable[..., Card],
    service_for: Callable[[Card], AgentService],
    agent: Agent,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    from cis.notify.sms import MemorySmsSender  # noqa: PLC0415

    from .conftest import last_code  # noqa: PLC0415

    card = issued_card(cast.holder)
    service = service_for(card)
    for _ in range(3):
        agent.run("login", card, "--passcode-stdin", input="0000\n")
    assert _row(card).status == "locked"
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        tasks_sent = agent.run("unlock", card, "--self", "--send-code-only")
    assert tasks_sent.exit_code == 0, tasks_sent.stderr
    code = last_code(MemorySmsSender.outbox)
    ref, secret = _task(cast.holder, "self_unlock", card)
    done = service.carry_out(
        service.accept(ref, secret, RETURN), {"code": code, "new": "5555", "confirm": "5555"}
    )
    assert done.ok, done.message
    assert _row(card).status == "active"
    card.verify_passcode("5555")
    # Locked again; the LSA unlocks it with the holder present, who types the new passcode.
    for _ in range(3):
        agent.run("login", card, "--passcode-stdin", input="0000\n")
    assert _row(card).status == "locked"
    ref, secret = _task(cast.lsa, "unlock", card)
    done = service.carry_out(
        service.accept(ref, secret, RETURN), {"new": "8642", "confirm": "8642"}
    )
    assert done.ok, done.message
    assert _row(card).status == "active"
    card.verify_passcode("8642")
    assert verify().intact


@virtual
def test_a_task_for_another_card_is_refused_and_nothing_changes(
    cast: Cast, issued_card: Callable[..., Card], service_for: Callable[[Card], AgentService]
) -> None:
    mine, other = issued_card(cast.holder), issued_card(cast.holder)
    ref, secret = _task(cast.holder, "change_passcode", mine)
    service = service_for(other)  # the other card is the one in the reader
    outcome = service.carry_out(
        service.accept(ref, secret, RETURN), {"current": PASSCODE, "new": "9753", "confirm": "9753"}
    )
    assert not outcome.ok
    assert f"this task is for card {mine.serial()}" in outcome.message
    assert CardTask.objects.get(ref=ref).claimed_at is None
    other.verify_passcode(PASSCODE)
    mine.verify_passcode(PASSCODE)


@virtual
def test_a_task_about_another_persons_card_cannot_be_started(
    cast: Cast, issued_card: Callable[..., Card]
) -> None:
    theirs = issued_card(cast.branch_holder)
    with pytest.raises(NotPermitted):
        _task(cast.holder, "change_passcode", theirs)
    assert not CardTask.objects.exists()


@virtual
def test_expired_and_signed_out_tasks_are_refused(
    cast: Cast, issued_card: Callable[..., Card], service_for: Callable[[Card], AgentService]
) -> None:
    card = issued_card(cast.holder)
    service = service_for(card)
    ref, secret = _task(cast.holder, "change_passcode", card)
    clock.travel(dt.timedelta(minutes=6))
    with pytest.raises(AgentError, match="already used or expired"):
        service.accept(ref, secret, RETURN)
    session = _session(cast.holder)
    ref, secret = _task(cast.holder, "change_passcode", card, session)
    pending = service.accept(ref, secret, RETURN)
    session_expire(session=session, reason=EndReason.SIGNED_OUT)
    outcome = service.carry_out(pending, {"current": PASSCODE, "new": "9753", "confirm": "9753"})
    assert not outcome.ok
    assert "already used or expired" in outcome.message
    card.verify_passcode(PASSCODE)
    assert CardTask.objects.get(ref=ref).claimed_at is None
    with pytest.raises(AgentError):
        service.accept("0" * 32, "not-the-secret", RETURN)


# -- the local HTTP face ------------------------------------------------------------------------

CIS = "https://cis.example.nhs.uk"


@pytest.fixture
def listening(tmp_path: Path) -> Iterator[str]:
    service = AgentService(server=CIS, readers=[Reader("virtual", str(tmp_path))], port=0)
    httpd = service.bind()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield service.own_origin
    finally:
        service.shutdown()


def test_the_agent_answers_only_its_own_cis_and_the_private_network_preflight(
    listening: str,
) -> None:
    preflight = {
        "Origin": CIS,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
        "Access-Control-Request-Private-Network": "true",
    }
    with httpx.Client(base_url=listening) as http:
        ok = http.options("/tasks", headers=preflight)
        assert ok.status_code == 204
        assert ok.headers["Access-Control-Allow-Origin"] == CIS
        assert ok.headers["Access-Control-Allow-Private-Network"] == "true"
        assert "Access-Control-Allow-Credentials" not in ok.headers
        for stranger in ("https://evil.example", "https://cis.example.nhs.uk.evil.example", "null"):
            refused = http.options("/tasks", headers={**preflight, "Origin": stranger})
            assert refused.status_code == 403
            assert "Access-Control-Allow-Origin" not in refused.headers
            posted = http.post(
                "/tasks", json={"task": "a" * 32, "secret": "b" * 43}, headers={"Origin": stranger}
            )
            assert posted.status_code == 403
            assert "Access-Control-Allow-Origin" not in posted.headers
        assert http.get("/status", headers={"Origin": CIS}).json()["server"] == CIS
        assert http.get("/status").status_code == 403, "no Origin, no answer"
        form = http.post("/tasks", content=b"task=x", headers={"Origin": CIS})
        assert form.status_code == 415, "only JSON, so a browser must preflight"
        page = http.get("/confirm/nothing-here")
        assert page.status_code == 404
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]


@virtual
def test_an_ra_agent_issues_and_replaces_cards_through_tasks(
    cast: Cast,
    issued_card: Callable[..., Card],
    new_card: Callable[[], Card],
    service_for: Callable[[Card], AgentService],
) -> None:
    issued_card(cast.agent)  # the RA Agent's own card, as any workstation user has
    blank = new_card()
    started = tasks.card_task_start(
        actor=cast.agent,
        kind="issue",
        signin_session_ref=str(_session(cast.agent).ref),
        holder=cast.holder,
    )
    service = service_for(blank)
    pending = service.accept(started.task.ref, started.secret, RETURN)
    assert pending.task["chip_serial"] == ""
    done = service.carry_out(pending, {"new": "1357", "confirm": "1357"})
    assert done.ok, done.message
    first = _row(blank)
    assert (first.holder, first.status) == (cast.holder, "active")
    blank.verify_passcode("1357")
    # The card in the reader is now issued: a replacement needs a blank one.
    replaced = tasks.card_task_start(
        actor=cast.agent,
        kind="replace",
        signin_session_ref=str(_session(cast.agent).ref),
        card=first,
        reason="damaged",
    )
    refused = service.carry_out(
        service.accept(replaced.task.ref, replaced.secret, RETURN),
        {"new": "2468", "confirm": "2468"},
    )
    assert not refused.ok and "Insert a blank card" in refused.message
    second = new_card()
    service = service_for(second)
    done = service.carry_out(
        service.accept(replaced.task.ref, replaced.secret, RETURN),
        {"new": "2468", "confirm": "2468"},
    )
    assert done.ok, done.message
    first.refresh_from_db()
    assert (first.status, first.cancel_reason) == ("cancelled", "damaged")
    assert _row(second).replaces == first
    assert verify().intact
