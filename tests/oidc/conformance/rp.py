"""A relying party's side of the tests: Authlib for the protocol, httpx as the browser."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.live import LiveCis

REDIRECT_URI = "https://rp.example.nhs.uk/callback"
LOGOUT_URI = "https://rp.example.nhs.uk/signed-out"
SCOPES = "openid profile email nhsperson selectedrole"


def answer(location: str) -> dict[str, str]:
    """The parameters of a redirect back to the client (its query)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class RelyingParty:
    op: LiveCis
    client_id: str
    client_secret: str
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    @classmethod
    def register(cls, op: LiveCis, *extra: str) -> RelyingParty:
        printed = op.cis(
            "oidc", "add-client", "--name", "Conformance RP", "--redirect-uri", REDIRECT_URI,
            "--post-logout-redirect-uri", LOGOUT_URI, *extra,
        ).stdout  # fmt: skip
        data = json.loads(printed)
        return cls(op, data["client_id"], data["client_secret"])

    def fresh(self) -> RelyingParty:
        """The same registered client, starting a new sign-in (new state and nonce)."""
        return RelyingParty(self.op, self.client_id, self.client_secret)

    @property
    def issuer(self) -> str:
        return self.op.url

    def client(self, **kwargs: Any) -> OAuth2Client:
        settings: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": SCOPES,
            "redirect_uri": REDIRECT_URI,
            "code_challenge_method": "S256",
            "base_url": self.op.url,
            "timeout": 30,
        }
        settings.update(kwargs)
        return OAuth2Client(**settings)

    def authorization_url(self, oauth: OAuth2Client, **params: str) -> tuple[str, str]:
        """The authorize URL with PKCE, state and nonce (overridable); and its code verifier."""
        verifier = secrets.token_urlsafe(48)
        params.setdefault("nonce", self.nonce)
        url, _state = oauth.create_authorization_url(
            f"{self.op.url}/oidc/authorize", state=self.state, code_verifier=verifier, **params
        )
        return url, verifier

    @contextmanager
    def browser(self, user_id: str) -> Iterator[httpx.Client]:
        """A browser signed in to CIS, sending what a browser sends: no CSRF header of its own."""
        with self.op.signed_in(user_id) as signed_in:
            signed_in.headers.pop("X-CSRFToken", None)
            yield signed_in

    def authorize(
        self, oauth: OAuth2Client, browser: httpx.Client, **params: str
    ) -> tuple[str, str]:
        """Authorize in the browser: the code it is given, and its PKCE verifier."""
        url, verifier = self.authorization_url(oauth, **params)
        back = browser.get(url)
        assert back.status_code == 302, back.text
        location = back.headers["location"]
        assert location.startswith(REDIRECT_URI), location
        got = answer(location)
        assert got["state"] == self.state
        assert got["iss"] == self.issuer
        return got["code"], verifier

    def code_flow(self, browser: httpx.Client, **params: str) -> dict[str, Any]:
        """Authorize in the browser, exchange the code: the token response."""
        with self.client() as oauth:
            code, verifier = self.authorize(oauth, browser, **params)
            token: dict[str, Any] = oauth.fetch_token(
                f"{self.op.url}/oidc/token",
                code=code,
                code_verifier=verifier,
                redirect_uri=REDIRECT_URI,
            )
            return token

    def plain_request_refused(self, oauth: OAuth2Client, browser: httpx.Client) -> str:
        """A plain authorization request from a client that must send its requests another
        way (pushed, or signed): an error back at the client, with iss and never a code.
        The refused URL is returned, for the caller to try it another way."""
        url, _verifier = self.authorization_url(oauth)
        plain = browser.get(url)
        assert plain.status_code == 302, plain.text
        got = answer(plain.headers["location"])
        assert got["error"] == "invalid_request"
        assert "code" not in got
        assert got["iss"] == self.issuer
        return url

    def jwks(self) -> KeySet:
        return KeySet.import_key_set(httpx.get(f"{self.op.url}/oidc/jwks", timeout=30).json())

    def id_token_claims(
        self, id_token: str, *, algorithms: list[str] | None = None
    ) -> dict[str, Any]:
        """The ID token verified as a relying party must (Core §3.1.3.7)."""
        token = jwt.decode(id_token, self.jwks(), algorithms=algorithms or ["ES256", "RS256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        ).validate(token.claims)
        return {"header": dict(token.header), **token.claims}
