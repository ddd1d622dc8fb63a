"""The OpenID Foundation's Config OP plan (oidcc-config-certification-test-plan), and the
signing-algorithm tests of the Basic plan: discovery, the JWKS, RS256 beside ES256."""

from __future__ import annotations

import httpx
import pytest

from tests.live import LiveCis

from .rp import RelyingParty

pytestmark = pytest.mark.timeout(900)


def test_oidcc_discovery_endpoint_verification(op: LiveCis) -> None:
    document = httpx.get(f"{op.url}/.well-known/openid-configuration", timeout=30).json()
    assert document["issuer"] == op.url
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                 "end_session_endpoint", "revocation_endpoint"):  # fmt: skip
        assert document[name].startswith(op.url + "/"), name
    assert document["response_types_supported"] == ["code"]
    assert document["subject_types_supported"] == ["public"]
    assert set(document["id_token_signing_alg_values_supported"]) == {"ES256", "RS256"}
    assert "none" not in document["id_token_signing_alg_values_supported"]
    assert {"openid", "profile", "email"} <= set(document["scopes_supported"])
    assert {"sub", "iss", "aud", "acr", "auth_time"} <= set(document["claims_supported"])
    assert document["authorization_response_iss_parameter_supported"] is True
    assert document["request_parameter_supported"] is True  # signed request objects (RFC 9101)
    assert document["request_uri_parameter_supported"] is False
    assert document["claims_parameter_supported"] is True
    assert document["introspection_endpoint"] == f"{op.url}/oidc/introspect"
    assert set(document["prompt_values_supported"]) >= {"none", "login", "select_account"}
    assert document["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
    ]


def test_oidcc_jwks_has_both_algorithms_and_no_private_parts(op: LiveCis) -> None:
    keys = httpx.get(f"{op.url}/oidc/jwks", timeout=30).json()["keys"]
    # Both algorithms; after a rotation the previous key of each stays published beside it.
    assert {k["alg"] for k in keys} == {"ES256", "RS256"}
    assert len({k["kid"] for k in keys}) == len(keys)
    assert not any({"d", "p", "q"} & set(k) for k in keys)


def test_oidcc_idtoken_rs256(registered_rs256: RelyingParty, holder: str) -> None:
    """A client registered for RS256 gets RS256 ID tokens, verified against the JWKS."""
    rp = registered_rs256.fresh()
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser)
        claims = rp.id_token_claims(token["id_token"], algorithms=["RS256"])
        assert claims["header"]["alg"] == "RS256"
        assert claims["sub"] == holder
        # Its ID token is a good id_token_hint too.
        again = rp.code_flow(browser, prompt="none", id_token_hint=token["id_token"])
    assert rp.id_token_claims(again["id_token"], algorithms=["RS256"])["sub"] == holder


def test_oidcc_idtoken_es256_is_the_default(rp: RelyingParty, holder: str) -> None:
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser)
    assert rp.id_token_claims(token["id_token"], algorithms=["ES256"])["header"]["alg"] == "ES256"


def test_a_key_rotation_is_seen_by_relying_parties_at_once(
    op: LiveCis, registered_rs256: RelyingParty, holder: str
) -> None:
    """`cis oidc rotate-key` in another process: the next token is signed by the new key, and
    a token signed by the previous key still verifies against the JWKS."""
    rp = registered_rs256.fresh()
    with rp.browser(holder) as browser:
        before = rp.code_flow(browser)["id_token"]
        op.cis("oidc", "rotate-key", "--alg", "RS256")
        after = rp.code_flow(browser)["id_token"]
    old = rp.id_token_claims(before, algorithms=["RS256"])["header"]["kid"]
    new = rp.id_token_claims(after, algorithms=["RS256"])["header"]["kid"]
    assert old != new


def test_oidcc_refresh_token(rp: RelyingParty, holder: str) -> None:
    """The refresh token rotates; the spent one is refused and revokes the family."""
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser)
    auth = (rp.client_id, rp.client_secret)
    url = f"{rp.op.url}/oidc/token"
    spent = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    renewed = httpx.post(url, data=spent, auth=auth, timeout=30)
    assert renewed.status_code == 200
    fresh = renewed.json()
    assert fresh["access_token"] and fresh["refresh_token"] != token["refresh_token"]
    assert rp.id_token_claims(fresh["id_token"])["sub"] == holder
    replayed = httpx.post(url, data=spent, auth=auth, timeout=30)
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"
    next_one = {"grant_type": "refresh_token", "refresh_token": fresh["refresh_token"]}
    assert httpx.post(url, data=next_one, auth=auth, timeout=30).status_code == 400
