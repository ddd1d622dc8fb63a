"""OIDF Basic/Config OP plans: server metadata, keys and the whole code flow with Authlib."""

from __future__ import annotations

import base64
import json

import pytest
from authlib.integrations.httpx_client import OAuth2Client
from django.core.management import call_command
from joserfc import jwt
from joserfc.jwk import KeySet

from cis.oidc.clients import NewClient
from cis.rbac.models import PositionAssignment

from .support import ALL_SCOPES, REDIRECT_URI, DjangoTransport, Holder, browser_signed_in, http

pytestmark = pytest.mark.django_db
ISSUER = "http://testserver"


def test_discovery_names_the_issuer_it_was_fetched_from() -> None:
    """oidcc-discovery-issuer-not-matching-config: issuer equals the discovery URL's prefix."""
    document = http().get("/.well-known/openid-configuration").json()
    assert document["issuer"] == ISSUER
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert document[name].startswith(ISSUER + "/"), name
    assert document["end_session_endpoint"] == ISSUER + "/oidc/logout"


def test_discovery_offers_only_what_the_server_accepts() -> None:
    document = http().get("/.well-known/openid-configuration").json()
    assert document["response_types_supported"] == ["code"]
    assert document["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
    ]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    assert set(document["scopes_supported"]) == {*ALL_SCOPES.split(), "system"}
    for claim in (
        "sub",
        "acr",
        "amr",
        "nhsid_nrbac_roles",
        "selected_roleid",
        "id_assurance_level",
    ):
        assert claim in document["claims_supported"]
    assert "AAL3" in document["acr_values_supported"]


def test_configured_issuer_is_used(settings: object) -> None:
    settings.CIS_OIDC_ISSUER = "https://cis.example.nhs.uk"  # type: ignore[attr-defined]
    document = http().get("/.well-known/openid-configuration").json()
    assert document["issuer"] == "https://cis.example.nhs.uk"
    assert document["token_endpoint"] == "https://cis.example.nhs.uk/oidc/token"


def test_jwks_publishes_one_public_es256_and_one_rs256_key() -> None:
    keys = http().get("/oidc/jwks").json()["keys"]
    assert [k["alg"] for k in keys] == ["ES256", "RS256"]
    es256, rs256 = keys
    assert (es256["kty"], es256["crv"], es256["use"]) == ("EC", "P-256", "sig")
    assert (rs256["kty"], rs256["e"], rs256["use"]) == ("RSA", "AQAB", "sig")
    assert len(base64.urlsafe_b64decode(rs256["n"] + "==")) * 8 >= 2048
    for key in keys:
        assert "d" not in key and "p" not in key  # never the private part
        assert key["kid"]


def test_rotating_the_keys_keeps_the_previous_ones_published() -> None:
    before = http().get("/oidc/jwks").json()["keys"]
    call_command("oidc", "rotate-key")
    after = http().get("/oidc/jwks").json()["keys"]
    assert len(after) == 4
    assert {k["kid"] for k in before} < {k["kid"] for k in after}
    call_command("oidc", "rotate-key", "--alg", "RS256")
    latest = http().get("/oidc/jwks").json()["keys"]
    assert len(latest) == 4  # the one before the previous RS256 key is gone
    assert before[1]["kid"] not in {k["kid"] for k in latest}
    assert before[0]["kid"] in {k["kid"] for k in latest}


def _authlib(rp: NewClient) -> OAuth2Client:
    return OAuth2Client(
        client_id=rp.application.client_id,
        client_secret=rp.client_secret,
        scope=ALL_SCOPES,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        transport=DjangoTransport(),
        base_url=ISSUER,
    )


def _validate_id_token(id_token: str, rp: NewClient, nonce: str) -> dict[str, object]:
    jwks = KeySet.import_key_set(http().get("/oidc/jwks").json())
    token = jwt.decode(id_token, jwks, algorithms=["ES256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": rp.application.client_id},
        nonce={"essential": True, "value": nonce},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        auth_time={"essential": True},
    ).validate(token.claims)
    assert token.header["alg"] == "ES256"
    return dict(token.claims)


def test_server_code_flow_with_a_real_client_library(rp: NewClient, asha: Holder) -> None:
    """oidcc-server: authorize, exchange with PKCE, validate the ID token, call userinfo."""
    browser, session = browser_signed_in(asha.person)
    client = _authlib(rp)
    verifier = "v" * 64
    url, state = client.create_authorization_url(
        ISSUER + "/oidc/authorize", code_verifier=verifier, nonce="n-0S6_WzA2Mj"
    )
    response = browser.get(url)
    assert response.status_code == 302, response.content
    callback = response["Location"]
    assert callback.startswith(REDIRECT_URI)
    token = client.fetch_token(
        ISSUER + "/oidc/token", authorization_response=callback, code_verifier=verifier
    )
    assert token["token_type"].lower() == "bearer"
    assert {"access_token", "refresh_token", "id_token", "expires_in"} <= set(token)

    claims = _validate_id_token(token["id_token"], rp, "n-0S6_WzA2Mj")
    assignment: PositionAssignment = asha.assignments[0]
    assert claims["sub"] == asha.person.user_id
    assert claims["acr"] == "AAL3"
    assert claims["amr"] == ["sc", "pin", "hwk"]
    assert claims["auth_time"] == int(session.auth_time.timestamp())
    assert claims["selected_roleid"] == str(assignment.pk)
    assert claims["id_assurance_level"] == 3
    roles = claims["nhsid_nrbac_roles"]
    assert isinstance(roles, list) and len(roles) == 1
    assert roles[0]["org_code"] == assignment.position.organisation.ods_code
    assert roles[0]["role_code"] == "S8000:G8000:R8000"
    assert roles[0]["activity_codes"] == ["B0825"]

    info = client.get(ISSUER + "/oidc/userinfo").json()
    assert info["sub"] == asha.person.user_id
    assert info["selected_role"]["person_roleid"] == str(assignment.pk)
    assert info["email"] == asha.person.email
    assert info["nhsid_user_orgs"] == [
        {
            "org_code": assignment.position.organisation.ods_code,
            "org_name": assignment.position.organisation.name,
        }
    ]


def test_scopes_limit_the_claims(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    client = _authlib(rp)
    client.scope = "openid"
    url, _ = client.create_authorization_url(
        ISSUER + "/oidc/authorize", code_verifier="w" * 64, nonce="abc"
    )
    callback = browser.get(url)["Location"]
    token = client.fetch_token(
        ISSUER + "/oidc/token", authorization_response=callback, code_verifier="w" * 64
    )
    claims = _validate_id_token(token["id_token"], rp, "abc")
    assert "nhsid_nrbac_roles" not in claims and "email" not in claims and "name" not in claims
    info = client.get(ISSUER + "/oidc/userinfo").json()
    assert info == {"sub": asha.person.user_id}


def test_add_client_command_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("oidc", "add-client", "--name", "EPS", "--redirect-uri", REDIRECT_URI)
    printed = json.loads(capsys.readouterr().out)
    assert printed["client_id"] and len(printed["client_secret"]) >= 43
    assert printed["redirect_uris"] == [REDIRECT_URI]


def test_purge_removes_only_what_is_dead(rp: NewClient, asha: Holder) -> None:
    import datetime as dt

    from cis.core import clock
    from cis.oidc.models import CodeIssue
    from cis.signin.challenge import challenge_issue
    from cis.signin.models import LoginChallenge

    from .flow import Attempt

    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    attempt.exchange(attempt.code(browser))
    challenge_issue(purpose="smartcard")
    call_command("oidc", "purge")
    assert LoginChallenge.objects.count() == 1 and CodeIssue.objects.count() == 1
    clock.travel(dt.timedelta(days=3))
    call_command("oidc", "purge")
    assert LoginChallenge.objects.count() == 0 and CodeIssue.objects.count() == 0


def test_the_id_tokens_issuer_follows_the_host_and_scheme_it_was_asked_at(settings: object) -> None:
    """Without CIS_OIDC_ISSUER the issuer comes from the request; remembering it per host and
    scheme must never give one host's (or scheme's) issuer to another."""
    from oauthlib.common import Request  # noqa: PLC0415

    from cis.oidc.validator import CisValidator  # noqa: PLC0415

    settings.ALLOWED_HOSTS = ["cis.example.nhs.uk", "cis2.example.nhs.uk"]  # type: ignore[attr-defined]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # type: ignore[attr-defined]
    validator = CisValidator()

    def issuer(**headers: str) -> str:
        request = Request("http://ignored/oidc/token", headers=headers)
        return validator.get_oidc_issuer_endpoint(request)

    for _ in range(2):  # the second round is answered from what the first remembered
        assert issuer(HTTP_HOST="cis.example.nhs.uk") == "http://cis.example.nhs.uk"
        assert issuer(HTTP_HOST="cis2.example.nhs.uk") == "http://cis2.example.nhs.uk"
        assert (
            issuer(HTTP_HOST="cis.example.nhs.uk", HTTP_X_FORWARDED_PROTO="https")
            == "https://cis.example.nhs.uk"
        )
        assert (
            issuer(HTTP_HOST="cis.example.nhs.uk", X_DJANGO_OAUTH_TOOLKIT_SECURE="1")
            == "https://cis.example.nhs.uk"
        )
