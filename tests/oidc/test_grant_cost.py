"""The token endpoint's hot path: what one grant costs, and that its shortcuts change nothing.

A code exchange is the provider's busiest call, so its statement count is pinned here: a
change that adds a query to every grant has to say so by changing this number.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from jwcrypto import jwk, jwt
from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken
from oauth2_provider.signals import app_authorized

from cis.oidc import keys
from cis.oidc.claims import all_claims, role_claims
from cis.oidc.clients import NewClient
from cis.oidc.models import CodeIssue, TokenLink
from cis.rbac.models import Activity
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

# Read (5): the grant, the client, the code's lineage with its sign-in session and person, the
# positions, their job roles. Write (6): claim the code, the ID token, the access token, its
# lineage, the refresh token, delete the code. Savepoints (the test's own transaction turns the
# endpoint's transaction into one) are not counted. Before this was tuned a grant took 17,
# committed in four transactions.
GRANT_STATEMENTS = 11


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

    def broken(**kw: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(TokenLink.objects, "create", broken)
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
    keys.generate_key()  # as `cis oidc rotate-key` in another process would
    second = keys.signing_key()
    assert second.kid != first.kid
    token = keys.sign_jwt({"sub": "x"})
    assert _b64json(token.split(".")[0])["kid"] == second.kid
    assert {k.kid for k in keys.published_keys()} == {first.kid, second.kid}


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
    assert full["job_role_codes"] == ["S8001:G8005:R9001", "S8001:G8005:R9002"]
    assert (full["role_code"], full["role_name"]) == ("S8001:G8005:R9001", "First role")
    assert full["activities"] == ["Activity B0001", "Activity B0002", "Activity B0003"]
    empty = entries[str(second.pk)]
    assert (empty["role_code"], empty["activity_codes"], empty["job_role_codes"]) == ("", [], [])
    assert empty["role_name"] == "Bare"


def test_positions_are_not_read_when_no_scope_releases_them(asha: Holder) -> None:
    with CaptureQueriesContext(connection) as captured:
        claims = all_claims(asha.person, None, ["openid", "profile"])
    assert len(captured.captured_queries) == 0
    assert claims["nhsid_nrbac_roles"] == []
    with CaptureQueriesContext(connection) as captured:
        claims = all_claims(asha.person, None, ["openid", "nationalrbacaccess"])
    assert len(captured.captured_queries) == 2
    assert len(claims["nhsid_nrbac_roles"]) == 1
