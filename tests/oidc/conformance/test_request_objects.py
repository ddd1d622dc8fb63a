"""Signed request objects (RFC 9101, OpenID Connect Core §6.1), over real HTTP against
`cis serve`: the client (Authlib for the protocol, joserfc to sign) sends its authorization
request as a JWT signed with a key of its registered JWK set, at authorize and inside a pushed
request; each bad object is refused and never yields a code."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from tests.live import LiveCis

from .rp import REDIRECT_URI, RelyingParty, answer

pytestmark = pytest.mark.timeout(900)

KEY = ECKey.generate_key("P-256", parameters={"kid": "rp-request-1"})


def _with_keys(op: LiveCis, rp: RelyingParty, folder: Path, *extra: str) -> RelyingParty:
    jwks = folder / f"{rp.client_id}.json"
    jwks.write_text(json.dumps({"keys": [KEY.as_dict(private=False)]}))
    op.cis("oidc", "update-client", rp.client_id, "--jwks", str(jwks), *extra)
    return rp


@pytest.fixture(scope="module")
def signer(op: LiveCis, tmp_path_factory: pytest.TempPathFactory) -> RelyingParty:
    """A client that registered its public key (as for private_key_jwt)."""
    return _with_keys(op, RelyingParty.register(op), tmp_path_factory.mktemp("jwks"))


@pytest.fixture(scope="module")
def must_sign(op: LiveCis, tmp_path_factory: pytest.TempPathFactory) -> RelyingParty:
    """A client that must send signed request objects."""
    rp = RelyingParty.register(op, "--require-signed-request-object")
    return _with_keys(op, rp, tmp_path_factory.mktemp("jwks"))


def request_claims(rp: RelyingParty, oauth: OAuth2Client) -> tuple[dict[str, Any], str]:
    url, verifier = rp.authorization_url(oauth)
    claims: dict[str, Any] = dict(parse_qsl(urlsplit(url).query))
    now = int(time.time())
    claims.update({"iss": rp.client_id, "aud": rp.issuer, "exp": now + 300, "iat": now})
    return claims, verifier


def sign(claims: dict[str, Any], key: Any = KEY, alg: str = "ES256") -> str:
    return jwt.encode({"alg": alg, "kid": "rp-request-1"}, claims, key)


def authorize_with(rp: RelyingParty, browser: httpx.Client, request_object: str) -> httpx.Response:
    query = urlencode({"client_id": rp.client_id, "request": request_object})
    return browser.get(f"{rp.op.url}/oidc/authorize?{query}")


def to_tokens(rp: RelyingParty, oauth: OAuth2Client, back: httpx.Response, verifier: str) -> Any:
    assert back.status_code == 302, back.text
    assert back.headers["location"].startswith(REDIRECT_URI)
    got = answer(back.headers["location"])
    assert got["state"] == rp.state
    assert got["iss"] == rp.issuer
    return oauth.fetch_token(
        f"{rp.op.url}/oidc/token",
        code=got["code"],
        code_verifier=verifier,
        redirect_uri=REDIRECT_URI,
    )


def test_discovery_names_request_objects(op: LiveCis) -> None:
    document = httpx.get(f"{op.url}/.well-known/openid-configuration", timeout=30).json()
    assert document["request_parameter_supported"] is True
    assert "none" not in document["request_object_signing_alg_values_supported"]
    assert "ES256" in document["request_object_signing_alg_values_supported"]
    assert document["request_uri_parameter_supported"] is False


def test_signed_request_object_to_tokens(signer: RelyingParty, holder: str) -> None:
    rp = signer.fresh()
    with rp.client() as oauth, rp.browser(holder) as browser:
        claims, verifier = request_claims(rp, oauth)
        token = to_tokens(rp, oauth, authorize_with(rp, browser, sign(claims)), verifier)
    assert rp.id_token_claims(token["id_token"])["nonce"] == rp.nonce


def test_only_the_request_object_counts(signer: RelyingParty, holder: str) -> None:
    """RFC 9101 §6.3: a parameter outside the object (here another state) is ignored."""
    rp = signer.fresh()
    with rp.client() as oauth, rp.browser(holder) as browser:
        claims, _verifier = request_claims(rp, oauth)
        query = urlencode(
            {"client_id": rp.client_id, "request": sign(claims), "state": "from-outside"}
        )
        back = browser.get(f"{rp.op.url}/oidc/authorize?{query}")
    assert answer(back.headers["location"])["state"] == rp.state


@pytest.mark.parametrize(
    "spoil",
    ["unsigned", "other key", "expired", "wrong aud", "wrong iss", "HS256"],
)
def test_bad_request_objects_are_refused(signer: RelyingParty, holder: str, spoil: str) -> None:
    rp = signer.fresh()
    with rp.client() as oauth, rp.browser(holder) as browser:
        claims, _verifier = request_claims(rp, oauth)
        if spoil == "unsigned":
            value = jwt.encode({"alg": "none"}, claims, None, algorithms=["none"])
        elif spoil == "other key":
            value = sign(claims, ECKey.generate_key("P-256"))
        elif spoil == "expired":
            value = sign({**claims, "exp": int(time.time()) - 60})
        elif spoil == "wrong aud":
            value = sign({**claims, "aud": "https://another-op.example"})
        elif spoil == "wrong iss":
            value = sign({**claims, "iss": "someone-else"})
        else:
            value = sign(claims, OctKey.generate_key(256), "HS256")
        # The outer request names the client and its redirect_uri, so the error goes there.
        query = urlencode(
            {
                "client_id": rp.client_id,
                "request": value,
                "redirect_uri": REDIRECT_URI,
                "response_type": "code",
                "scope": "openid",
                "state": rp.state,
                "code_challenge": claims["code_challenge"],
                "code_challenge_method": "S256",
            }
        )
        back = browser.get(f"{rp.op.url}/oidc/authorize?{query}")
    assert back.status_code == 302, back.text
    got = answer(back.headers["location"])
    assert got["error"] == "invalid_request_object"
    assert "code" not in got
    assert got["iss"] == rp.issuer


def test_signed_request_object_inside_par(signer: RelyingParty, holder: str) -> None:
    rp = signer.fresh()
    with rp.client() as oauth, rp.browser(holder) as browser:
        claims, verifier = request_claims(rp, oauth)
        auth = oauth.client_auth(oauth.token_endpoint_auth_method)
        pushed = oauth.post(
            f"{rp.op.url}/oidc/par",
            data={"client_id": rp.client_id, "request": sign(claims)},
            auth=auth,
        )
        assert pushed.status_code == 201, pushed.text
        query = urlencode({"client_id": rp.client_id, "request_uri": pushed.json()["request_uri"]})
        back = browser.get(f"{rp.op.url}/oidc/authorize?{query}")
        assert "id_token" in to_tokens(rp, oauth, back, verifier)
        refused = oauth.post(
            f"{rp.op.url}/oidc/par",
            data={"client_id": rp.client_id, "request": sign({**claims, "aud": "elsewhere"})},
            auth=auth,
        )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_request_object"


def test_client_that_must_sign_refuses_plain_requests(must_sign: RelyingParty, holder: str) -> None:
    rp = must_sign.fresh()
    with rp.client() as oauth, rp.browser(holder) as browser:
        url = rp.plain_request_refused(oauth, browser)
        params = dict(parse_qsl(urlsplit(url).query))
        pushed = oauth.post(
            f"{rp.op.url}/oidc/par",
            data=params,
            auth=oauth.client_auth(oauth.token_endpoint_auth_method),
        )
        assert pushed.status_code == 400
        assert pushed.json()["error"] == "invalid_request"
        claims, verifier = request_claims(rp, oauth)
        assert "id_token" in to_tokens(
            rp, oauth, authorize_with(rp, browser, sign(claims)), verifier
        )
