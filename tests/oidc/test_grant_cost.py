"""The token endpoint's hot path: what one grant costs, and that its shortcuts change nothing.

A code exchange is the provider's busiest call, so its statement count is pinned here: a
change that adds a query to every grant has to say so by changing this number.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import threading
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.db import connection, connections
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from jwcrypto import jwk, jwt
from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken
from oauth2_provider.signals import app_authorized

from cis.authz.scope import active_assignments
from cis.core import clock, rows
from cis.oidc import keys, validator
from cis.oidc.claims import all_claims, role_claims
from cis.oidc.clients import NewClient
from cis.oidc.models import CodeIssue, TokenLink
from cis.organisations.models import OrganisationStatus
from cis.rbac.models import Activity, PositionAssignment, PositionStatus
from cis.signin.services import session_select_role
from tests.factories.directory import (
    ActivityFactory,
    AssignmentFactory,
    JobRoleFactory,
    OrganisationFactory,
    PersonFactory,
    PositionFactory,
)

from .flow import Attempt
from .support import Holder, browser_signed_in

pytestmark = pytest.mark.django_db

# Read (2): the code's grant with its client, CodeIssue, sign-in session and person (one
# statement), and the positions with their job roles and activities (one). Write (6), together
# in one transaction after the reads: claim the code, the ID token, the access token, its
# lineage, the refresh token, delete the grant. Savepoints (the test's own transaction turns
# the endpoint's transaction into one) are not counted. Before this was tuned a grant took 17,
# committed in four transactions; through the ORM, 11.
GRANT_STATEMENTS = 8


def _activity(code: str) -> Activity:
    activity: Activity = ActivityFactory(code=code, name=f"Activity {code}")
    return activity


def _b64json(part: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return data


def _statements(captured: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]


def test_a_grant_costs_a_fixed_number_of_statements(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    code = attempt.code(browser)
    with CaptureQueriesContext(connection) as captured:
        response = attempt.exchange(code)
    assert response.status_code == 200, response.content
    assert len(_statements(captured)) == GRANT_STATEMENTS, "\n".join(_statements(captured))


def test_the_cost_does_not_grow_with_positions(rp: NewClient) -> None:
    """No N+1: five positions with their roles and activities cost what one does."""
    person = PersonFactory()
    chosen = None
    for n in range(5):
        role = JobRoleFactory(code=f"R90{n}0", name=f"Role {n}")
        role.baseline_activities.add(_activity(f"B91{n}1"), _activity(f"B91{n}2"))
        position = PositionFactory(
            organisation=OrganisationFactory(), name=f"P{n}", job_roles=[role]
        )
        position.activities.add(_activity(f"B92{n}0"))
        chosen = AssignmentFactory(person=person, position=position)
    assert chosen is not None
    browser, session = browser_signed_in(person)
    session_select_role(actor=person, session=session, assignment_id=chosen.pk)
    attempt = Attempt(rp)
    code = attempt.code(browser)
    with CaptureQueriesContext(connection) as captured:
        response = attempt.exchange(code)
    assert response.status_code == 200, response.content
    assert len(_statements(captured)) == GRANT_STATEMENTS


def test_the_code_names_its_refresh_family_so_a_replay_revokes_it(
    rp: NewClient, asha: Holder
) -> None:
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    code = attempt.code(browser)
    tokens = attempt.exchange(code).json()
    refresh = RefreshToken.objects.get()
    issue = CodeIssue.objects.get()
    assert issue.token_family == refresh.token_family
    assert TokenLink.objects.get().code_issue == issue
    assert attempt.exchange(code).status_code == 400  # the replay
    refresh.refresh_from_db()
    assert refresh.revoked is not None
    userinfo = Client().get("/oidc/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert userinfo.status_code == 401


def test_the_reads_come_first_and_the_writes_together_after(rp: NewClient, asha: Holder) -> None:
    """The exchange's writes are one block at the end, the code's claim first among them."""
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    code = attempt.code(browser)
    with CaptureQueriesContext(connection) as captured:
        response = attempt.exchange(code)
    assert response.status_code == 200, response.content
    verbs = [sql.split()[0] for sql in _statements(captured)]
    assert verbs == ["SELECT", "WITH", "UPDATE", "INSERT", "INSERT", "INSERT", "INSERT", "DELETE"]


def test_of_two_exchanges_racing_for_one_code_one_wins(
    rp: NewClient, asha: Holder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loser read the code before the winner wrote: its claim finds the code taken."""
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    code = attempt.code(browser)
    before = validator.read_code(code)  # what the loser read, before the winner's writes
    won = attempt.exchange(code)
    assert won.status_code == 200, won.content
    monkeypatch.setattr(validator, "read_code", lambda _code: before)
    lost = attempt.exchange(code)
    assert lost.status_code == 400
    assert lost.json()["error"] == "invalid_grant"
    assert lost["Cache-Control"] == "no-store"
    # Nothing of the loser's is left, and the winner's tokens stand: no replay happened.
    assert AccessToken.objects.count() == IDToken.objects.count() == 1
    assert RefreshToken.objects.get().revoked is None
    userinfo = Client().get(
        "/oidc/userinfo", HTTP_AUTHORIZATION=f"Bearer {won.json()['access_token']}"
    )
    assert userinfo.status_code == 200


def _exchange_together(attempt: Attempt, code: str) -> list[Any]:
    """Two exchanges of one code, each on its own thread and database connection."""
    answers: list[Any] = [None, None]

    def exchange(index: int) -> None:
        try:
            answers[index] = attempt.exchange(code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=exchange, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_exchanges_of_one_code_at_once_one_wins(
    rp: NewClient, asha: Holder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Truly at once, on PostgreSQL: both read the code before either writes; one claim wins.

    (SQLite lets one writer in at a time, so there the sequential form above is the race.)
    """
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the sequential race above runs there")
    real_read = validator.read_code
    for _ in range(3):  # a few rounds, so that a lucky ordering cannot hide a broken claim
        barrier = threading.Barrier(2)

        def read_then_wait(code: str, barrier: threading.Barrier = barrier) -> Any:
            found = real_read(code)
            barrier.wait(timeout=10)
            return found

        monkeypatch.setattr(validator, "read_code", read_then_wait)
        browser, _ = browser_signed_in(asha.person)
        attempt = Attempt(rp)
        code = attempt.code(browser)
        answers = _exchange_together(attempt, code)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 400], answers
        loser = next(a for a in answers if a.status_code == 400)
        assert loser.json()["error"] == "invalid_grant"
        issue = CodeIssue.objects.get(digest=validator.code_digest(code))
        assert TokenLink.objects.filter(code_issue=issue).count() == 1
        assert RefreshToken.objects.filter(token_family=issue.token_family).count() == 1


def test_a_refused_exchange_still_spends_its_code(rp: NewClient, asha: Holder) -> None:
    """A wrong PKCE verifier is refused after the code's claim, which stands."""
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    code = attempt.code(browser)
    assert attempt.exchange(code, verifier="x" * 64).status_code == 400
    assert CodeIssue.objects.get().redeemed_at is not None
    assert attempt.exchange(code).status_code == 400
    assert not AccessToken.objects.exists()


def _raw_rows(model: type[Model]) -> list[tuple[Any, ...]]:
    """Every row as the database holds it, less the columns a save rewrites (updated)."""
    names = [f.column for f in model._meta.concrete_fields if f.name != "updated"]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(names)} FROM {model._meta.db_table} ORDER BY id")  # noqa: S608
        return list(cursor.fetchall())


def test_the_plain_sql_rows_are_the_orms(rp: NewClient, asha: Holder) -> None:
    """What the exchange reads and writes in plain SQL is what the ORM reads and writes."""
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    code = attempt.code(browser)
    read = validator.read_code(code)
    issue = CodeIssue.objects.select_related("session__person").get()
    client = type(rp.application).objects.get(pk=rp.application.pk)
    expected = [Grant.objects.get(code=code), client, issue, issue.session, issue.session.person]
    found = [read.grant, read.client, read.issue, read.session, read.person]
    for mine, orms in zip(found, expected, strict=True):
        assert mine is not None
        for field in type(orms)._meta.concrete_fields:
            ours, theirs = getattr(mine, field.attname), getattr(orms, field.attname)
            assert (ours, type(ours)) == (theirs, type(theirs)), field
    assert attempt.exchange(code).status_code == 200
    for model in (IDToken, AccessToken, TokenLink, RefreshToken):
        written = _raw_rows(model)
        for instance in model.objects.all():
            instance.save()  # through the ORM: each field prepared and stored again
        assert _raw_rows(model) == written, model


def test_a_code_whose_session_is_someone_elses_is_refused(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    code = attempt.code(browser)
    Grant.objects.filter(code=code).update(user=PersonFactory())
    response = attempt.exchange(code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_an_error_mid_grant_leaves_nothing_half_made(
    rp: NewClient, asha: Holder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction: a failure after the code is claimed undoes the claim and the tokens."""
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    code = attempt.code(browser)

    real_insert = rows.NewRow.insert

    def broken(row: rows.NewRow[Any]) -> Any:
        if isinstance(row.instance, TokenLink):  # after the code's claim, the ID and access tokens
            raise RuntimeError("disk full")
        return real_insert(row)

    monkeypatch.setattr(rows.NewRow, "insert", broken)
    with pytest.raises(RuntimeError):
        attempt.exchange(code)
    assert CodeIssue.objects.get().redeemed_at is None
    assert not AccessToken.objects.exists()
    assert not IDToken.objects.exists()
    assert Grant.objects.filter(code=code).exists()


def test_app_authorized_is_still_sent_to_its_receivers(rp: NewClient, asha: Holder) -> None:
    seen: list[AccessToken] = []

    def receiver(sender: object, request: object, token: AccessToken, **kw: Any) -> None:
        seen.append(token)

    app_authorized.connect(receiver)
    try:
        browser, _ = browser_signed_in(asha.person)
        attempt = Attempt(rp)
        response = attempt.exchange(attempt.code(browser))
    finally:
        app_authorized.disconnect(receiver)
    assert response.status_code == 200
    assert [t.pk for t in seen] == [AccessToken.objects.get().pk]


def test_a_resource_indicator_still_goes_through_the_toolkit(rp: NewClient, asha: Holder) -> None:
    """The shortcut covers only 'no resource asked, none granted'; RFC 8707 rules stay."""
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    response = attempt.exchange(attempt.code(browser), resource="not a uri")
    assert response.status_code == 400
    assert json.loads(response.content)["error"] == "invalid_target"
    response = attempt.exchange(attempt.code(browser), resource="https://api.example.nhs.uk/")
    assert response.status_code == 200
    assert AccessToken.objects.get().resource == ["https://api.example.nhs.uk/"]


def test_id_tokens_are_es256_jws_that_a_library_verifies(db: None) -> None:
    claims = {"sub": "123456789012", "aud": "rp", "iss": "https://cis.example", "nonce": "n"}
    token = keys.sign_jwt(claims)
    header_part, claims_part, signature_part = token.split(".")
    key = keys.signing_key()
    assert _b64json(header_part) == {"typ": "JWT", "alg": "ES256", "kid": key.kid}
    assert _b64json(claims_part) == claims
    raw = base64.urlsafe_b64decode(signature_part + "==")
    assert len(raw) == 64  # r || s, not DER
    public = jwk.JWK(**key.public_jwk())
    assert json.loads(jwt.JWT(jwt=token, key=public, algs=["ES256"]).claims) == claims
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    signing_input = f"{header_part}.{claims_part}".encode()
    key.private_key.public_key().verify(
        encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256())
    )


def test_a_key_made_by_another_process_signs_at_once(db: None) -> None:
    """Rotation is seen on the next token, without a restart: the key files are the truth."""
    first = keys.signing_key()
    assert keys.signing_key() is first  # parsed once, not per token
    keys.generate_key("ES256")  # as `cis oidc rotate-key` in another process would
    second = keys.signing_key()
    assert second.kid != first.kid
    token = keys.sign_jwt({"sub": "x"})
    assert _b64json(token.split(".")[0])["kid"] == second.kid
    es256 = {k.kid for k in keys.published_keys() if k.alg == "ES256"}
    assert es256 == {first.kid, second.kid}


def test_a_settled_key_directory_costs_a_stat_and_a_rotation_is_still_seen(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = keys.signing_key()
    directory = keys._key_directory()
    long_ago = time.time_ns() - 3600 * 10**9
    os.utime(directory, ns=(long_ago, long_ago))  # as a directory left alone for an hour
    assert keys.signing_key() is first  # listed again (the time moved), now settled
    listed: list[object] = []
    real_listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path: listed.append(path) or real_listdir(path))
    assert keys.signing_key() is first
    assert listed == []  # a stat sufficed
    keys.generate_key()  # as `cis oidc rotate-key` in another process would
    listed.clear()
    assert keys.signing_key().kid != first.kid
    assert listed == [directory]  # the directory's time moved: listed again


def test_role_claims_merge_own_and_baseline_activities(db: None) -> None:
    person = PersonFactory()
    shared, baseline_only, own_only = _activity("B0001"), _activity("B0002"), _activity("B0003")
    role_b = JobRoleFactory(code="R9002", name="Second role")
    role_a = JobRoleFactory(code="R9001", name="First role")
    role_a.baseline_activities.add(shared, baseline_only)
    position = PositionFactory(
        organisation=OrganisationFactory(), name="Pharmacist", job_roles=[role_b, role_a]
    )
    position.activities.add(shared, own_only)
    bare = PositionFactory(organisation=OrganisationFactory(), name="Bare")
    bare.job_roles.clear()
    first = AssignmentFactory(person=person, position=position)
    second = AssignmentFactory(person=person, position=bare)
    entries = {e["person_roleid"]: e for e in role_claims(person)}
    assert set(entries) == {str(first.pk), str(second.pk)}
    full = entries[str(first.pk)]
    assert full["activity_codes"] == sorted({shared.code, baseline_only.code, own_only.code})
    assert full["job_role_codes"] == ["S8000:G8000:R9001", "S8000:G8000:R9002"]
    assert (full["role_code"], full["role_name"]) == ("S8000:G8000:R9001", "First role")
    assert full["activities"] == ["Activity B0001", "Activity B0002", "Activity B0003"]
    empty = entries[str(second.pk)]
    assert (empty["role_code"], empty["activity_codes"], empty["job_role_codes"]) == ("", [], [])
    assert empty["role_name"] == "Bare"


def test_role_claims_hold_only_the_positions_in_force(db: None) -> None:
    """The rule of active_assignments(), which role_claims states again in SQL."""
    person = PersonFactory()
    today = clock.today()
    current = AssignmentFactory(person=person, position=PositionFactory(name="Current"))
    AssignmentFactory(person=person, end_date=today - dt.timedelta(days=1))
    AssignmentFactory(person=person, start_date=today + dt.timedelta(days=1))
    AssignmentFactory(person=person, position=PositionFactory(status=PositionStatus.RETIRED))
    closed = OrganisationFactory(status=OrganisationStatus.CLOSED)
    AssignmentFactory(person=person, position=PositionFactory(organisation=closed))
    last_day = AssignmentFactory(person=person, end_date=today)
    found = {e["person_roleid"] for e in role_claims(person)}
    assert found == {str(current.pk), str(last_day.pk)}
    expected = PositionAssignment.objects.filter(active_assignments(), person=person)
    assert found == {str(pk) for pk in expected.values_list("pk", flat=True)}


def test_positions_are_not_read_when_no_scope_releases_them(asha: Holder) -> None:
    with CaptureQueriesContext(connection) as captured:
        claims = all_claims(asha.person, None, ["openid", "profile"])
    assert len(captured.captured_queries) == 0
    assert claims["nhsid_nrbac_roles"] == []
    with CaptureQueriesContext(connection) as captured:
        claims = all_claims(asha.person, None, ["openid", "nationalrbacaccess"])
    assert len(captured.captured_queries) == 1
    assert len(claims["nhsid_nrbac_roles"]) == 1
