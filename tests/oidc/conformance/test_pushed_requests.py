"""Pushed authorization requests (RFC 9126), over real HTTP against `cis serve`, with Authlib
as the client: the push authenticated as at the token endpoint, the browser sent with only
client_id and request_uri, and each misuse of a request_uri refused."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client

from tests.live import LiveCis

from .rp import REDIRECT_URI, RelyingParty, answer

pytestmark = pytest.mark.timeout(900)

PREFIX = "urn:ietf:params:oauth:request_uri:"


@pytest.fixture(scope="module")
def par_required(op: LiveCis) -> RelyingParty:
    """A client whose authorization requests must be pushed."""
    return RelyingParty.register(op, "--require-pushed-authorization-requests")


def authorization_params(
    rp: RelyingParty, oauth: OAuth2Client, **extra: str
) -> tuple[dict[str, str], str]:
    """What the client would put in the authorize URL (PKCE, state, nonce), as a dict."""
    url, verifier = rp.authorization_url(oauth, **extra)
    return dict(parse_qsl(urlsplit(url).query)), verifier


def push(rp: RelyingParty, oauth: OAuth2Client, params: dict[str, str]) -> httpx.Response:
    """POST the request to the PAR endpoint, authenticated as Authlib does at the token endpoint."""
    endpoint = discovery(rp.op)["pushed_authorization_request_endpoint"]
    auth = oauth.client_auth(oauth.token_endpoint_auth_method)
    response: httpx.Response = oauth.post(endpoint, data=params, auth=auth)
    return response


def discovery(op: LiveCis) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(
        f"{op.url}/.well-known/openid-configuration", timeout=30
    ).json()
    return document


def authorize_url(rp: RelyingParty, request_uri: str, client_id: str | None = None) -> str:
    query = urlencode({"client_id": client_id or rp.client_id, "request_uri": request_uri})
    return f"{rp.op.url}/oidc/authorize?{query}"


def test_discovery_names_the_par_endpoint(op: LiveCis) -> None:
    document = discovery(op)
    assert document["pushed_authorization_request_endpoint"] == f"{op.url}/oidc/par"
    assert document["require_pushed_authorization_requests"] is False


def test_pushed_request_to_tokens_and_never_twice(rp: RelyingParty, holder: str) -> None:
    with rp.client() as oauth, rp.browser(holder) as browser:
        params, verifier = authorization_params(rp, oauth)
        pushed = push(rp, oauth, params)
        assert pushed.status_code == 201, pushed.text
        body = pushed.json()
        assert body["request_uri"].startswith(PREFIX)
        assert 0 < body["expires_in"] <= 600
        url = authorize_url(rp, body["request_uri"])
        back = browser.get(url)
        assert back.status_code == 302, back.text
        got = answer(back.headers["location"])
        assert back.headers["location"].startswith(REDIRECT_URI)
        assert got["state"] == rp.state
        assert got["iss"] == rp.issuer
        token = oauth.fetch_token(
            f"{rp.op.url}/oidc/token",
            code=got["code"],
            code_verifier=verifier,
            redirect_uri=REDIRECT_URI,
        )
        assert rp.id_token_claims(token["id_token"])["nonce"] == rp.nonce
        # The request_uri is spent: the same link again is refused, with no code.
        again = browser.get(url)
        assert again.status_code == 400
        assert "invalid_request_uri" in again.text
        assert "location" not in again.headers


def test_expired_request_uri_is_refused(rp: RelyingParty, holder: str) -> None:
    with rp.client() as oauth, rp.browser(holder) as browser:
        params, _verifier = authorization_params(rp, oauth)
        request_uri = push(rp, oauth, params).json()["request_uri"]
        # As if expires_in had passed before the browser arrived.
        rp.op.shell(
            "import datetime as dt\n"
            "from cis.core import clock\n"
            "from cis.core.digests import secret_digest\n"
            "from cis.oidc.models import PushedRequest\n"
            f"PushedRequest.objects.filter(digest=secret_digest({request_uri!r})).update("
            "expires_at=clock.now() - dt.timedelta(seconds=1))\n"
        )
        refused = browser.get(authorize_url(rp, request_uri))
        assert refused.status_code == 400
        assert "invalid_request_uri" in refused.text


def test_another_clients_request_uri_is_refused(
    rp: RelyingParty, registered_other: RelyingParty, holder: str
) -> None:
    with rp.client() as oauth, rp.browser(holder) as browser:
        params, _verifier = authorization_params(rp, oauth)
        request_uri = push(rp, oauth, params).json()["request_uri"]
        refused = browser.get(authorize_url(rp, request_uri, registered_other.client_id))
        assert refused.status_code == 400
        assert "invalid_request_uri" in refused.text
        # Not spent by the attempt: the client that pushed it still can use it.
        back = browser.get(authorize_url(rp, request_uri))
        assert back.status_code == 302
        assert "code" in answer(back.headers["location"])


def test_an_unknown_request_uri_is_refused(rp: RelyingParty, holder: str) -> None:
    with rp.browser(holder) as browser:
        refused = browser.get(authorize_url(rp, PREFIX + "made-up"))
    assert refused.status_code == 400
    assert "invalid_request_uri" in refused.text


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"redirect_uri": "https://elsewhere.example/callback"}, "invalid_request"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"response_type": "made-up"}, "unsupported_response_type"),
        ({"response_type": "token"}, "unauthorized_client"),  # as authorize answers it
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"request_uri": PREFIX + "nested"}, "invalid_request"),
    ],
)
def test_push_checks_the_request_as_authorize_would(
    rp: RelyingParty, change: dict[str, str], error: str
) -> None:
    with rp.client() as oauth:
        params, _verifier = authorization_params(rp, oauth)
        refused = push(rp, oauth, {**params, **change})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == error


def test_push_needs_client_authentication(rp: RelyingParty) -> None:
    with rp.client() as oauth:
        params, _verifier = authorization_params(rp, oauth)
    unauthenticated = httpx.post(f"{rp.op.url}/oidc/par", data=params, timeout=30)
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"] == "invalid_client"
    wrong = httpx.post(
        f"{rp.op.url}/oidc/par", data=params, auth=(rp.client_id, "not-the-secret"), timeout=30
    )
    assert wrong.status_code == 401


def test_client_that_requires_par_refuses_plain_requests(
    par_required: RelyingParty, holder: str
) -> None:
    rp = par_required.fresh()
    with rp.client() as oauth, rp.browser(holder) as browser:
        rp.plain_request_refused(oauth, browser)
        params, verifier = authorization_params(rp, oauth)
        request_uri = push(rp, oauth, params).json()["request_uri"]
        back = browser.get(authorize_url(rp, request_uri))
        assert back.status_code == 302
        code = answer(back.headers["location"])["code"]
        token = oauth.fetch_token(
            f"{rp.op.url}/oidc/token", code=code, code_verifier=verifier, redirect_uri=REDIRECT_URI
        )
        assert "id_token" in token
