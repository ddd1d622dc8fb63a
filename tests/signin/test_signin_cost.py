"""The smartcard sign-in's hot path: what it costs, and that its shortcuts keep every check.

The statement counts are pinned so that a change adding a query to every sign-in says so by
changing a number here; the other tests show that the shortcuts (one statement to claim a
challenge, one read for certificate, card and holder, a remembered certificate path) still
see a revocation, a lock or a replay at once, and that the statements written out in plain SQL
(cis.core.rows, the roles read) store and find exactly what the ORM would.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cis.audit.models import AuditEvent
from cis.audit.trail import record
from cis.authz.policy import CONSOLE
from cis.authz.scope import active_assignments
from cis.core import clock, rows, sql
from cis.core.errors import InvalidState, ValidationFailed
from cis.organisations.models import OrganisationStatus
from cis.pki.models import Certificate
from cis.pki.services import certificate_revoke
from cis.rbac.models import PositionAssignment, PositionStatus
from cis.signin.challenge import challenge_consume, challenge_issue
from cis.signin.constants import ACR_AAL3, AMR_SMARTCARD
from cis.signin.models import (
    ChallengePurpose,
    LoginChallenge,
    SignInMethod,
    SignInSession,
    SignInTicket,
)
from cis.signin.services import role_ids
from cis.smartcards.models import Smartcard
from cis.smartcards.states import CardStatus
from cis_agent import login
from cis_card.base import Card
from cis_wire import messages
from tests.factories.directory import AssignmentFactory, OrganisationFactory, PositionFactory
from tests.oidc.support import Holder

from .conftest import PASSCODE

pytestmark = pytest.mark.django_db

# Claim the challenge; read certificate, card and holder; then in one transaction: the holder's
# roles, the session, the audit event, whether the card is live elsewhere, the browser's
# one-time link. Transaction and savepoint markers are not counted, and neither is the audit
# event's own cost (cis.audit's business, measured below: 3 or 4 statements). Before this was
# tuned the answer took 9 of its own (and a savepoint); all 6 are plain SQL now, none composed
# by the ORM, which the timing rather than this count shows.
SIGN_IN_STATEMENTS = 6
# The per-card and per-address limits count in the shared rate table (cis.core.ratelimit) when no
# Redis is configured, as in these tests: an upsert and a read of the previous window per step.
RATE_COUNT_STATEMENTS = 2


def _answer(http: httpx.Client, card: Card, workstation: str = "WS-COST") -> httpx.Response:
    challenge = http.post("/signin/agent/challenge").json()
    cert = login.presented(card)
    message = messages.signin_message(
        challenge_id=challenge["challenge_id"], nonce=challenge["nonce"], chip_serial=card.serial()
    )
    with card.session(PASSCODE) as session:
        signature = session.sign(cert.key_id, message)
    return http.post(
        "/signin/agent/respond",
        json={
            "challenge_id": challenge["challenge_id"],
            "chip_serial": card.serial(),
            "certificate": base64.b64encode(cert.der).decode(),
            "signature": base64.b64encode(signature).decode(),
            "workstation": workstation,
        },
    )


def _statements(captured: CaptureQueriesContext) -> list[str]:
    skip = ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT")
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(skip)]


def _audit_statements() -> int:
    """What one audit event costs once its chain exists (cis.audit's business, not pinned here)."""
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        record(actor=None, rule="test", action="test.cost", target_type="person", target_ref="-")
    return len(_statements(captured))


def test_a_sign_in_costs_a_fixed_number_of_statements(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    assert _answer(http, card).status_code == 201  # the certificate path is now known
    challenge = http.post("/signin/agent/challenge").json()
    cert = login.presented(card)
    message = messages.signin_message(
        challenge_id=challenge["challenge_id"], nonce=challenge["nonce"], chip_serial=card.serial()
    )
    with card.session(PASSCODE) as session:
        signature = session.sign(cert.key_id, message)
    body = {
        "challenge_id": challenge["challenge_id"],
        "chip_serial": card.serial(),
        "certificate": base64.b64encode(cert.der).decode(),
        "signature": base64.b64encode(signature).decode(),
        "workstation": "WS-COST",
    }
    with CaptureQueriesContext(connection) as captured:
        response = http.post("/signin/agent/respond", json=body)
    assert response.status_code == 201, response.text
    statements = _statements(captured)
    expected = SIGN_IN_STATEMENTS + RATE_COUNT_STATEMENTS + _audit_statements()
    assert len(statements) == expected, "\n".join(statements)


def test_issuing_a_challenge_is_one_statement_besides_its_rate_count(
    db: None, http: httpx.Client
) -> None:
    with CaptureQueriesContext(connection) as captured:
        assert http.post("/signin/agent/challenge").status_code == 201
    assert len(_statements(captured)) == 1 + RATE_COUNT_STATEMENTS


def test_the_cost_does_not_grow_with_positions(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    assert _answer(http, card).status_code == 201
    with CaptureQueriesContext(connection) as one_role:
        assert _answer(http, card).status_code == 201
    for n in range(4):
        position = PositionFactory(organisation=OrganisationFactory(), name=f"Locum {n}")
        AssignmentFactory(person=asha.person, position=position)
    with CaptureQueriesContext(connection) as five_roles:
        response = _answer(http, card)
    assert response.status_code == 201
    assert response.json()["role_count"] == 2  # "more than one: choose"
    assert len(_statements(five_roles)) == len(_statements(one_role))


def test_each_sign_in_is_audited_with_its_organisation(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    assert _answer(http, card).status_code == 201
    event = AuditEvent.objects.filter(action="session.start").latest("seq")
    ods = asha.assignments[0].position.organisation.ods_code
    assert (event.actor_ref, event.organisation_ref) == (asha.person.user_id, ods)
    session = SignInSession.objects.get(ref=event.after["session"])
    assert session.selected_assignment_id == asha.assignments[0].pk
    AssignmentFactory(
        person=asha.person, position=PositionFactory(organisation=OrganisationFactory())
    )
    assert _answer(http, card).status_code == 201
    event = AuditEvent.objects.filter(action="session.start").latest("seq")
    assert event.organisation_ref == ""  # two roles: none chosen yet


def test_a_revocation_is_seen_at_once_after_the_path_is_remembered(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    assert _answer(http, card).status_code == 201
    record = Certificate.objects.get(person=asha.person)
    certificate_revoke(actor=CONSOLE, certificate=record, reason="key_compromise")
    response = _answer(http, card)
    assert response.status_code == 403
    assert "revoked" in response.json()["message"]


def test_a_lock_is_seen_at_once_after_the_path_is_remembered(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    assert _answer(http, card).status_code == 201
    Smartcard.objects.filter(holder=asha.person).update(status=CardStatus.LOCKED)
    response = _answer(http, card)
    assert response.status_code == 403
    assert "locked" in response.json()["message"]


def test_a_challenge_is_claimed_once_and_read_back(db: None) -> None:
    issued = challenge_issue(purpose=ChallengePurpose.SMARTCARD, client_address="10.1.2.3")
    claimed = challenge_consume(challenge_id=str(issued.id), purpose=ChallengePurpose.SMARTCARD)
    assert (claimed.id, claimed.nonce, claimed.client_address) == (
        issued.id,
        issued.nonce,
        "10.1.2.3",
    )
    assert claimed.person_id is None
    assert claimed.expires_at == issued.expires_at  # not read back: loaded when asked for
    assert LoginChallenge.objects.get(pk=issued.id).used_at == claimed.used_at
    with pytest.raises(InvalidState):
        challenge_consume(challenge_id=str(issued.id), purpose=ChallengePurpose.SMARTCARD)


def test_a_challenge_for_another_purpose_or_unknown_is_refused(db: None) -> None:
    issued = challenge_issue(purpose=ChallengePurpose.WEBAUTHN_SIGNIN)
    with pytest.raises(InvalidState):
        challenge_consume(challenge_id=str(issued.id), purpose=ChallengePurpose.SMARTCARD)
    with pytest.raises(InvalidState):
        challenge_consume(challenge_id=str(uuid.uuid4()), purpose=ChallengePurpose.SMARTCARD)
    with pytest.raises(ValidationFailed):
        challenge_consume(challenge_id="not-a-uuid", purpose=ChallengePurpose.SMARTCARD)
    # The refused attempt did not use it up for its own purpose.
    claimed = challenge_consume(
        challenge_id=str(issued.id), purpose=ChallengePurpose.WEBAUTHN_SIGNIN
    )
    assert claimed.nonce == issued.nonce


def _stored(model: type[Any], pk: Any) -> dict[str, Any]:
    """A row as the database holds it, read without the ORM's conversions."""
    fields = model._meta.concrete_fields
    columns = ", ".join(f'"{f.column}"' for f in fields)
    row = sql.one(
        f'SELECT {columns} FROM "{model._meta.db_table}" WHERE "{model._meta.pk.column}" = %s',  # noqa: S608
        [model._meta.pk.get_db_prep_value(pk, sql.connection())],
    )
    assert row is not None
    return {f.name: value for f, value in zip(fields, row, strict=True)}


def _differing(a: dict[str, Any], b: dict[str, Any]) -> set[str]:
    return {name for name in a if a[name] != b[name]}


def test_the_plain_inserts_write_the_rows_save_would(asha: Holder) -> None:
    at = clock.now()
    person = asha.person

    def session() -> SignInSession:
        return SignInSession(
            person=person,
            method=SignInMethod.SMARTCARD,
            card_serial="SC0001",
            card_id=7,
            certificate_serial="0a1b",
            selected_assignment_id=asha.assignments[0].pk,
            selected_at=at,
            workstation="WS-1",
            client_address="10.0.0.5",
            acr=ACR_AAL3,
            amr=list(AMR_SMARTCARD),
            auth_time=at,
            last_seen_at=at,
            expires_at=at + dt.timedelta(hours=12),
            agent_token_digest="d" * 64,
            last_heartbeat_at=at,
        )

    by_orm, by_sql = session(), session()
    by_orm.save()
    rows.insert(by_sql)
    assert by_sql.pk is not None and not by_sql._state.adding
    stored = _stored(SignInSession, by_sql.pk)
    assert _differing(_stored(SignInSession, by_orm.pk), stored) == {"id", "ref"}
    back = SignInSession.objects.get(pk=by_sql.pk)
    assert (back.ref, back.amr, back.auth_time, back.ended_at) == (
        by_sql.ref,
        AMR_SMARTCARD,
        at,
        None,
    )

    tickets = [SignInTicket(digest=f"{n}" * 64, session=by_sql, expires_at=at) for n in (1, 2)]
    tickets[0].save()
    rows.insert(tickets[1])
    assert tickets[1].pk is not None
    assert _differing(
        _stored(SignInTicket, tickets[0].pk), _stored(SignInTicket, tickets[1].pk)
    ) == {"id", "digest"}

    challenges = [
        LoginChallenge(
            purpose=ChallengePurpose.WEBAUTHN_REGISTER,
            nonce="ab" * 32,
            created_at=at,
            expires_at=at,
            client_address="10.0.0.5",
            person=person,
        )
        for _ in range(2)
    ]
    challenges[0].save()
    rows.insert(challenges[1])
    assert _differing(
        _stored(LoginChallenge, challenges[0].pk), _stored(LoginChallenge, challenges[1].pk)
    ) == {"id"}
    assert LoginChallenge.objects.get(pk=challenges[1].pk).person == person


def test_the_roles_a_sign_in_reads_are_the_active_assignments(asha: Holder) -> None:
    person, today = asha.person, clock.today()
    day = dt.timedelta(days=1)
    AssignmentFactory(person=person, end_date=today)  # its last day: still held
    AssignmentFactory(person=person, end_date=today - day)
    AssignmentFactory(person=person, start_date=today + day)
    AssignmentFactory(person=person, position=PositionFactory(status=PositionStatus.RETIRED))
    closed = OrganisationFactory(status=OrganisationStatus.CLOSED)
    AssignmentFactory(person=person, position=PositionFactory(organisation=closed))
    AssignmentFactory(
        position=PositionFactory(organisation=asha.assignments[0].position.organisation)
    )
    held = set(
        PositionAssignment.objects.filter(active_assignments(), person=person).values_list(
            "pk", flat=True
        )
    )
    assert len(held) == 2
    assert set(role_ids(person, 10)) == held
    assert len(role_ids(person, 1)) == 1
