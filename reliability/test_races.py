"""Races on PostgreSQL: many callers doing the one thing that may happen once, at one instant.

Each check repeats its race (100 rounds in the full run), every caller on its own thread and its
own database connection, lined up by a barrier so that they reach the database together. Only
PostgreSQL lets several writers in at once and makes them wait on each other's row locks; SQLite
lets one write transaction in at a time, so none of these can race there (the main suite runs
the sequential form of each on both databases).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core import mail
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken
from tests.factories.directory import AssignmentFactory, PersonFactory, RightGrantFactory
from tests.jobs.conftest import Mailbox
from tests.live import free_port
from tests.oidc.flow import Attempt, token_request
from tests.oidc.support import browser_signed_in, holder, new_client
from tests.smartcards.conftest import CardInHand, csr_for
from tests.workflow.desk import PHOTO, Desk, build_desk

from cis.audit.models import AuditEvent
from cis.audit.verify import verify
from cis.authz.actions import Action
from cis.core import clock
from cis.core.errors import DomainError
from cis.oidc import keys, validator
from cis.oidc.models import CodeIssue
from cis.people.models import Person
from cis.pki.models import Certificate
from cis.rbac.models import PositionAssignment
from cis.rights.models import Right
from cis.smartcards import services as cards
from cis.smartcards.models import CardCertificate, CardOperation, UnlockCode
from cis.workflow import services as workflow
from cis.workflow.apply import IdentityEvidence
from cis.workflow.approval_policy import approval_policy_set
from cis.workflow.models import Escalation, Notification, Request, RequestApproval
from cis.workflow.states import RequestState, RequestType
from cis_wire.messages import renewal_message

from .conftest import Figures, Scale
from .processes import start_cis
from .together import at_once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(1800)]

EVIDENCE = IdentityEvidence(
    document_types=["passport", "utility_bill", "birth_certificate"], photo=PHOTO
)
# Distinct surnames, so no round's new person is a near-duplicate of an earlier round's.
SURNAMES = [
    "Abbott", "Brennan", "Carver", "Dunmore", "Ellwood", "Fairbairn", "Gillespie", "Hartigan",
    "Ingram", "Jardine", "Kilbride", "Lockhart", "Macready", "Northcott", "Oakshott", "Pemberton",
    "Quarmby", "Rushworth", "Stainthorpe", "Thistlewood",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets one write transaction in at a time: nothing can race there")


def _surname(n: int) -> str:
    return f"{SURNAMES[n % len(SURNAMES)]}-{SURNAMES[(n // len(SURNAMES)) % len(SURNAMES)]}"


def _agents(desk: Desk, count: int) -> list[Person]:
    """`count` RA Agents across the desk's RA, each a different person."""
    agents = [desk.agent, desk.agent2]
    for n in range(count - 2):
        agent = PersonFactory(given_name=f"Agent{n}", family_name="Racer", registered_ra=desk.ra)
        AssignmentFactory(person=agent, position=desk.pharmacist)
        RightGrantFactory(person=agent, right=Right.RA_AGENT, ra=desk.ra)
        agents.append(agent)
    return agents


def _register(desk: Desk, n: int) -> Request:
    return workflow.request_raise(
        actor=desk.sponsor,
        request_type=RequestType.PERSON_REGISTER,
        payload={
            "ods_code": desk.branch.ods_code,
            "given_name": "Rae",
            "family_name": _surname(n),
            "date_of_birth": (dt.date(1960, 1, 1) + dt.timedelta(days=97 * n)).isoformat(),
            "position_id": desk.pharmacist.pk,
        },
    )


def _approvals_race(desk: Desk, agents: list[Person], rounds: int, needed: int) -> dict[str, int]:
    seen = {"applied": 0, "refused": 0, "unexpected": 0}
    for n in range(rounds):
        request = _register(desk, n)
        assert request.approvals_needed == needed

        def approve(i: int, request: Request = request) -> Request:
            return workflow.request_approve(actor=agents[i], request=request, identity=EVIDENCE)

        outcomes = at_once(len(agents), approve)
        won = [o for o in outcomes if isinstance(o, Request)]
        refused = [o for o in outcomes if isinstance(o, DomainError)]
        unexpected = [o for o in outcomes if not isinstance(o, Request | DomainError)]
        assert not unexpected, unexpected
        assert len(won) == needed, (n, outcomes)
        request.refresh_from_db()
        assert request.state == RequestState.APPLIED
        assert RequestApproval.objects.filter(request=request).count() == needed
        made = Person.objects.filter(family_name=_surname(n))
        assert made.count() == 1, f"round {n}: {made.count()} people made"
        assert PositionAssignment.objects.filter(person=made.get()).count() == 1
        approvals = AuditEvent.objects.filter(action=Action.REQUEST_APPROVE, target_ref=request.ref)
        assert approvals.count() == needed, f"round {n}: {approvals.count()} approval events"
        assert AuditEvent.objects.filter(target_ref=made.get().user_id).exists()
        seen["applied"] += 1
        seen["refused"] += len(refused)
    result = verify()
    assert result.intact, result.problem
    return seen


def test_fifty_approvals_of_one_request(scale: Scale, figures: Figures) -> None:
    rounds = scale.pick(short=10, full=100)
    desk = build_desk()
    agents = _agents(desk, 50)
    seen = _approvals_race(desk, agents, rounds, needed=1)
    figures["rounds"] = rounds
    figures["callers"] = len(agents)
    figures["applied"] = seen["applied"]
    figures["refused"] = seen["refused"]
    figures["duplicates"] = 0


def test_fifty_approvals_of_a_two_approver_request(scale: Scale, figures: Figures) -> None:
    """A 2-of-m approval policy: of fifty RA Agents approving at once, exactly two count."""
    rounds = scale.pick(short=10, full=100)
    desk = build_desk()
    approval_policy_set(
        actor=desk.service_desk, request_type=RequestType.PERSON_REGISTER, approvals_needed=2
    )
    agents = _agents(desk, 50)
    seen = _approvals_race(desk, agents, rounds, needed=2)
    figures["rounds"] = rounds
    figures["callers"] = len(agents)
    figures["applied"] = seen["applied"]
    figures["approvals_per_request"] = 2
    figures["duplicates"] = 0


def test_first_token_grants_on_a_fresh_install(figures: Figures) -> None:
    """The ID-token signing key is made on first use: twenty first grants at once all succeed."""
    rp = new_client()
    asha = holder()
    failed = 0
    for _ in range(rounds := 10):
        shutil.rmtree(keys._key_directory(), ignore_errors=True)  # a fresh install's data
        attempts = [Attempt(rp) for _ in range(20)]
        codes = [a.code(browser_signed_in(asha.person)[0]) for a in attempts]
        answers = at_once(20, lambda i, a=attempts, c=codes: a[i].exchange(c[i]))
        failed += sum(getattr(a, "status_code", 0) != 200 for a in answers)
    figures["rounds"] = rounds
    figures["callers"] = 20
    figures["failed"] = failed
    assert failed == 0


def test_one_authorization_code_at_the_token_endpoint(scale: Scale, figures: Figures) -> None:
    rounds, callers = scale.pick(short=10, full=100), 20
    rp = new_client()
    asha = holder()
    keys.signing_key()  # made before the race: the first-use race is the check above
    for n in range(rounds):
        browser, _ = browser_signed_in(asha.person)
        attempt = Attempt(rp)
        code = attempt.code(browser)
        answers = at_once(callers, lambda _i, code=code, attempt=attempt: attempt.exchange(code))
        statuses = sorted(getattr(a, "status_code", a) for a in answers)
        assert statuses == [200] + [400] * (callers - 1), (n, statuses)
        for lost in answers:
            if lost.status_code == 400:
                assert lost.json()["error"] == "invalid_grant"
        won = next(a for a in answers if a.status_code == 200).json()
        assert won["access_token"] and won["refresh_token"] and won["id_token"], won
        # A loser that arrives after the winner's commit is a replay of a spent code, which
        # revokes what the code produced (RFC 6749 4.1.2): the winner's token works or is
        # revoked, but there is only ever one grant (counted below).
        userinfo = Client().get(
            "/oidc/userinfo", HTTP_AUTHORIZATION=f"Bearer {won['access_token']}"
        )
        assert userinfo.status_code in (200, 401), (n, userinfo.content)
        issue = CodeIssue.objects.get(digest=validator.code_digest(code))
        assert RefreshToken.objects.filter(token_family=issue.token_family).count() == 1, n
        assert AccessToken.objects.filter(cis_link__code_issue=issue).count() <= 1, n
    families = RefreshToken.objects.values("token_family").distinct().count()
    figures["rounds"] = rounds
    figures["callers"] = callers
    figures["grants"] = families
    figures["duplicates"] = RefreshToken.objects.count() - families
    assert families == rounds


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def test_one_refresh_token(scale: Scale, figures: Figures) -> None:
    rounds, callers = scale.pick(short=10, full=100), 20
    rp = new_client()
    asha = holder()
    for n in range(rounds):
        browser, _ = browser_signed_in(asha.person)
        attempt = Attempt(rp)
        first = attempt.exchange(attempt.code(browser)).json()

        def refresh(_i: int, token: str = first["refresh_token"]) -> Any:
            return token_request(rp, {"grant_type": "refresh_token", "refresh_token": token})

        answers = at_once(callers, refresh)
        statuses = sorted(getattr(a, "status_code", a) for a in answers)
        granted = [a.json() for a in answers if getattr(a, "status_code", 0) == 200]
        # Every 200 must carry a usable token: a relying party stores what it is given.
        empty = [g for g in granted if not g.get("access_token") or not g.get("refresh_token")]
        assert not empty, (n, f"{len(empty)} answers of 200 with an empty token")
        assert statuses == [200] + [400] * (callers - 1), (n, statuses)
        # Exactly one new grant: the family holds the spent token and one successor (a rotation
        # deletes the spent token's access token, so counting access tokens shows nothing). A
        # replay of the spent token may revoke the family, but never mints a second live token.
        family = RefreshToken.objects.get(token_checksum=_checksum(first["refresh_token"]))
        assert RefreshToken.objects.filter(token_family=family.token_family).count() == 2, n
        live = RefreshToken.objects.filter(token_family=family.token_family, revoked__isnull=True)
        assert live.count() <= 1, n
    figures["rounds"] = rounds
    figures["callers"] = callers
    figures["duplicates"] = 0


def test_one_unlock_code(
    scale: Scale, figures: Figures, active_card: Callable[..., CardInHand]
) -> None:
    rounds, callers = scale.pick(short=10, full=100), 20
    person = holder().person
    card = active_card(person)
    for n in range(rounds):
        UnlockCode.objects.filter(card=card.row).delete()  # the hourly cap is not under test
        cards.card_report_locked(actor=person, card=card.row)
        mail.outbox.clear()
        cards.card_self_unlock_send_code(actor=person, card=card.row, channel="email")
        code = next(w.rstrip(".") for w in mail.outbox[0].body.split() if w.rstrip(".").isdigit())

        def verify_code(_i: int, code: str = code) -> Any:
            return cards.card_self_unlock_verify(actor=person, card=card.row, code=code)

        outcomes = at_once(callers, verify_code)
        released = [o for o in outcomes if not isinstance(o, BaseException)]
        refused = [o for o in outcomes if isinstance(o, DomainError)]
        assert len(released) == 1, (n, outcomes)
        assert len(refused) == callers - 1, (n, outcomes)
        operations = CardOperation.objects.filter(card=card.row, kind="self_unlock")
        assert operations.filter(abandoned_at__isnull=True).count() == 1, n
        # Finish it as the agent would, so the next round starts from an active card.
        finished = released[0]
        cards.card_operation_complete(
            actor=None,
            operation_ref=finished.operation.ref,
            chip_serial=card.row.chip_serial,
            secret=finished.secret,
            so_pin_rotated=True,
        )
        CardOperation.objects.filter(card=card.row).update(abandoned_at=clock.now())
    figures["rounds"] = rounds
    figures["callers"] = callers
    figures["duplicates"] = 0


def test_two_renewals_of_one_card_to_the_certificate_step(
    scale: Scale, figures: Figures, active_card: Callable[..., CardInHand]
) -> None:
    rounds = scale.pick(short=10, full=100)
    desk = build_desk()
    person = desk.holder
    card = active_card(person)
    issued_before = Certificate.objects.filter(person=person).count()
    clock.travel(card.link.certificate.not_after - clock.now() - dt.timedelta(days=60))
    renewers = [person, desk.lsa]
    for n in range(rounds):
        started = at_once(2, lambda i: cards.card_renew(actor=renewers[i], card=card.row))
        assert all(not isinstance(s, BaseException) for s in started), (n, started)
        new_keys = [ec.generate_private_key(ec.SECP256R1()) for _ in started]

        def certify(i: int, started: list[Any] = started, new_keys: list[Any] = new_keys) -> Any:
            csr = csr_for(new_keys[i])
            der = x509.load_pem_x509_csr(csr).public_bytes(serialization.Encoding.DER)
            message = renewal_message(
                challenge=started[i].operation.challenge,
                chip_serial=card.row.chip_serial,
                csr_der=der,
            )
            return cards.card_certificate_request(
                actor=renewers[i],
                operation_ref=started[i].operation.ref,
                chip_serial=card.row.chip_serial,
                csr_pem=csr,
                renewal_proof=card.sign(message),
            )

        outcomes = at_once(2, certify)
        won = [o for o in outcomes if isinstance(o, CardCertificate)]
        refused = [o for o in outcomes if isinstance(o, DomainError)]
        assert len(won) == 1 and len(refused) == 1, (n, outcomes)
        assert "replaced" in str(refused[0]), refused[0]
        # The round's loser never reached the CA: one new certificate per round, no more.
        assert Certificate.objects.filter(person=person).count() == issued_before + n + 1
        CardOperation.objects.filter(card=card.row, completed_at__isnull=True).update(
            abandoned_at=clock.now()
        )
    figures["rounds"] = rounds
    figures["callers"] = 2
    figures["certificates"] = Certificate.objects.filter(person=person).count() - issued_before
    figures["duplicates"] = 0


def test_two_job_runs_on_two_machines(scale: Scale, figures: Figures, tmp_path: Path) -> None:
    """Two `cis jobs run` processes at once: each email sent once, each request escalated once."""
    rounds, per_round = scale.pick(short=5, full=100), 6
    desk = build_desk()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {"CIS_EMAIL_HOST": "127.0.0.1", "CIS_EMAIL_PORT": str(smtp.port)}
    failed_runs = 0
    try:
        for n in range(rounds):
            for k in range(per_round):
                person = PersonFactory(given_name=f"Holder{n}x{k}", registered_ra=desk.ra)
                AssignmentFactory(person=person, position=desk.pharmacist)
                workflow.request_raise(
                    actor=desk.sponsor,
                    request_type=RequestType.CARD_ISSUE,
                    payload={"user_id": person.user_id},
                )
            # Overdue now, for the other processes' real clocks too.
            Request.objects.filter(escalations__isnull=True).update(
                due_at=timezone.now() - dt.timedelta(days=1)
            )
            runs = [start_cis(tmp_path, "jobs", "run", **env) for _ in range(2)]
            for run in runs:
                _out, err = run.communicate(timeout=300)
                failed_runs += run.returncode != 0
                assert "Traceback" not in err, err
            deliveries = Counter(mailbox.deliveries())
            repeated = [d for d, times in deliveries.items() if times > 1]
            assert not repeated, (n, repeated)
            assert not Notification.objects.filter(sent_at__isnull=True).exists(), n
            assert len(deliveries) == Notification.objects.count(), n
            escalated = Escalation.objects.values("request").annotate(times=Count("id"))
            assert all(e["times"] == 1 for e in escalated), n
            assert escalated.count() == per_round * (n + 1), n
    finally:
        smtp.stop()
    figures["rounds"] = rounds
    figures["machines"] = 2
    figures["emails"] = len(mailbox.deliveries())
    figures["duplicates"] = 0
    figures["failed_runs"] = failed_runs
    assert failed_runs == 0
