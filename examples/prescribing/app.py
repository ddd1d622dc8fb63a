"""The prescribing app: a WSGI relying party using Authlib's OIDC client and joserfc.

It does what any clinical system would: discovery, the code flow with PKCE S256 and a nonce,
ID token validation against the provider's JWKS (issuer, audience, nonce, expiry, ES256 only),
userinfo, and RP-initiated logout. It shows who signed in and the role they selected at CIS.
Two things a clinical system's back end does as well:
- token introspection (RFC 7662): each page asks CIS whether the sign-in behind its access
  token is still active, as a resource server would before acting on it;
- back-channel logout: CIS posts a signed logout token to /backchannel-logout when the sign-in
  ends (a card cancelled, a sign-out elsewhere); the app verifies it and ends its own session;
- DPoP (RFC 9449), when the provider offers it: the tokens are bound to a key this app makes
  when it starts, and userinfo is asked with a proof of that key, so a copied token is useless.
No web framework: the standard library's WSGI is enough for a page or two.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

SCOPES = "openid profile email nhsperson associatedorgs nationalrbacaccess selectedrole"
COOKIE = "prescribing_session"
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
SIGNING_ALGS = ["ES256", "RS256"]

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


@dataclass
class Settings:
    issuer: str
    client_id: str
    client_secret: str
    base_url: str  # where this app is reached, e.g. http://127.0.0.1:8001
    transport: httpx.BaseTransport | None = None

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/callback"

    @property
    def signed_out_uri(self) -> str:
        return f"{self.base_url}/signed-out"

    @property
    def backchannel_logout_uri(self) -> str:
        return f"{self.base_url}/backchannel-logout"


@dataclass
class Visit:
    state: str = ""
    verifier: str = ""
    nonce: str = ""
    claims: dict[str, Any] = field(default_factory=dict)
    userinfo: dict[str, Any] = field(default_factory=dict)
    id_token: str = ""
    access_token: str = ""
    ended_by_cis: bool = False

    def end(self) -> None:
        self.claims, self.userinfo, self.id_token, self.access_token = {}, {}, "", ""


class PrescribingApp:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.visits: dict[str, Visit] = {}
        self._metadata: dict[str, Any] | None = None
        self.logout_tokens_seen: set[str] = set()  # jti of each logout token taken
        self._dpop_key = ECKey.generate_key("P-256")  # never leaves this process

    @property
    def dpop_jkt(self) -> str:
        """The thumbprint of this app's DPoP key (RFC 7638), as CIS's cnf.jkt names it."""
        return str(self._dpop_key.thumbprint())

    def uses_dpop(self) -> bool:
        return "ES256" in self.metadata().get("dpop_signing_alg_values_supported", [])

    def dpop_proof(self, method: str, url: str, access_token: str | None = None) -> str:
        """A DPoP proof (RFC 9449 §4.2) for one request, signed with this app's key."""
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self._dpop_key.as_dict(private=False)}
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method,
            "htu": url,
            "iat": int(time.time()),
        }
        if access_token is not None:
            digest = hashlib.sha256(access_token.encode("ascii")).digest()
            claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        return jwt.encode(header, claims, self._dpop_key)

    # -- talking to CIS -----------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        return httpx.Client(transport=self.settings.transport, timeout=10)

    def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            with self._http() as http:
                url = self.settings.issuer + "/.well-known/openid-configuration"
                document: dict[str, Any] = http.get(url).raise_for_status().json()
            if document["issuer"] != self.settings.issuer:
                raise ValueError("the provider's discovery document names another issuer")
            self._metadata = document
        return self._metadata

    def oauth(self, **kwargs: Any) -> OAuth2Client:
        return OAuth2Client(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            scope=SCOPES,
            redirect_uri=self.settings.redirect_uri,
            code_challenge_method="S256",
            transport=self.settings.transport,
            **kwargs,
        )

    def _keys(self) -> KeySet:
        with self._http() as http:
            document = http.get(self.metadata()["jwks_uri"]).raise_for_status().json()
        return KeySet.import_key_set(document)

    def validate_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        token = jwt.decode(id_token, self._keys(), algorithms=["ES256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.settings.issuer},
            aud={"essential": True, "value": self.settings.client_id},
            nonce={"essential": True, "value": nonce},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        ).validate(token.claims)
        return dict(token.claims)

    def validate_logout_token(self, logout_token: str) -> dict[str, Any]:
        """Back-Channel Logout 1.0 §2.6: signature, typ, iss, aud, iat, the event, a sid or
        sub, no nonce, and a jti not seen before. Raises ValueError (or joserfc's errors)."""
        token = jwt.decode(logout_token, self._keys(), algorithms=SIGNING_ALGS)
        if token.header.get("typ") != "logout+jwt":
            raise ValueError("not a logout token")
        claims = dict(token.claims)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.settings.issuer},
            aud={"essential": True, "value": self.settings.client_id},
            iat={"essential": True},
            jti={"essential": True},
        ).validate(claims)
        events = claims.get("events")
        if not isinstance(events, dict) or not isinstance(events.get(LOGOUT_EVENT), dict):
            raise ValueError("no back-channel logout event")
        if "nonce" in claims or not (claims.get("sid") or claims.get("sub")):
            raise ValueError("a logout token has a sid or sub and never a nonce")
        if claims["jti"] in self.logout_tokens_seen:
            raise ValueError("this logout token was used already")
        self.logout_tokens_seen.add(claims["jti"])
        return claims

    def still_active(self, visit: Visit) -> bool:
        """Ask CIS whether the sign-in behind the access token is still active (RFC 7662)."""
        introspection = self.metadata()["introspection_endpoint"]
        with self.oauth() as client:
            answer = client.introspect_token(introspection, token=visit.access_token)
        found: dict[str, Any] = answer.raise_for_status().json()
        return found.get("active") is True and found.get("sub") == visit.claims.get("sub")

    # -- WSGI -----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        visit_id = cookie[COOKIE].value if COOKIE in cookie else ""
        visit = self.visits.get(visit_id)
        headers: list[tuple[str, str]] = []
        if visit is None:
            visit_id = secrets.token_urlsafe(24)
            visit = self.visits[visit_id] = Visit()
            headers.append(("Set-Cookie", f"{COOKIE}={visit_id}; Path=/; HttpOnly; SameSite=Lax"))
        if path == "/backchannel-logout":
            status, body = self.backchannel_logout(environ)
            start_response(
                status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
            )
            return [body.encode()]
        routes = {
            "/": self.home,
            "/login": self.login,
            "/callback": self.callback,
            "/logout": self.logout,
            "/signed-out": self.signed_out,
        }
        handler = routes.get(path)
        if handler is None:
            return self._page(start_response, "404 Not Found", "Not found", "<p>No such page.</p>")
        status, more, body = handler(visit, query)
        start_response(status, [*headers, *more, ("Content-Type", "text/html; charset=utf-8")])
        return [body.encode()]

    def _page(
        self, start_response: StartResponse, status: str, title: str, body: str
    ) -> list[bytes]:
        start_response(status, [("Content-Type", "text/html; charset=utf-8")])
        return [_html(title, body).encode()]

    Result = tuple[str, list[tuple[str, str]], str]

    def backchannel_logout(self, environ: dict[str, Any]) -> tuple[str, str]:
        """CIS says a sign-in has ended: end every visit of that sign-in (its sid)."""
        if environ.get("REQUEST_METHOD") != "POST":
            return "405 Method Not Allowed", '{"error": "invalid_request"}'
        length = int(environ.get("CONTENT_LENGTH") or 0)
        form = parse_qs(environ["wsgi.input"].read(length).decode())
        try:
            claims = self.validate_logout_token(form.get("logout_token", [""])[0])
        except Exception:  # noqa: BLE001 - any fault in the token is the same refusal
            return "400 Bad Request", '{"error": "invalid_request"}'
        for visit in self.visits.values():
            if visit.claims and (
                visit.claims.get("sid") == claims.get("sid")
                if claims.get("sid")
                else visit.claims.get("sub") == claims.get("sub")
            ):
                visit.end()
                visit.ended_by_cis = True
        return "200 OK", "{}"

    def home(self, visit: Visit, query: dict[str, str]) -> Result:
        if visit.claims and not self.still_active(visit):
            visit.end()
            visit.ended_by_cis = True
        if not visit.claims:
            ended = (
                "<p class='ended'>Your Care Identity sign-in has ended, so you have been signed "
                "out here too.</p>"
                if visit.ended_by_cis
                else ""
            )
            body = (
                f"{ended}<p>Sign in with your NHS smartcard through the Care Identity Service.</p>"
                '<p><a class="button" href="/login">Sign in with NHS Care Identity</a></p>'
            )
            return "200 OK", [], _html("Prescribing", body)
        role = visit.userinfo.get("selected_role") or visit.claims.get("selected_role") or {}
        rows = [
            ("Name", visit.userinfo.get("name", "")),
            ("User id", visit.claims["sub"]),
            ("Working as", f"{role.get('role_name', '')} ({role.get('role_code', '')})"),
            ("At", f"{role.get('org_name', '')} ({role.get('org_code', '')})"),
            ("Activities", ", ".join(role.get("activity_codes", []))),
            (
                "Authentication",
                f"{visit.claims.get('acr', '')} via {' '.join(visit.claims.get('amr', []))}",
            ),
            ("Sign-in", "active at CIS (checked by token introspection)"),
        ]
        table = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
        )
        body = (
            f'<p class="who">Signed in as {html.escape(str(visit.userinfo.get("name", "")))}</p>'
            f"<table>{table}</table>"
            '<p><a class="button" href="/logout">Sign out</a></p>'
        )
        return "200 OK", [], _html("Prescribing", body)

    def login(self, visit: Visit, query: dict[str, str]) -> Result:
        visit.verifier = secrets.token_urlsafe(48)
        visit.nonce = secrets.token_urlsafe(16)
        url, visit.state = self.oauth().create_authorization_url(
            self.metadata()["authorization_endpoint"],
            code_verifier=visit.verifier,
            nonce=visit.nonce,
        )
        return "302 Found", [("Location", url)], ""

    def callback(self, visit: Visit, query: dict[str, str]) -> Result:
        if "error" in query:
            message = html.escape(query.get("error_description", query["error"]))
            return "400 Bad Request", [], _html("Sign-in failed", f"<p>{message}</p>")
        if not visit.state or query.get("state") != visit.state:
            return "400 Bad Request", [], _html("Sign-in failed", "<p>Start again.</p>")
        if query.get("iss") != self.settings.issuer:
            return "400 Bad Request", [], _html("Sign-in failed", "<p>Wrong issuer.</p>")
        meta = self.metadata()
        client = self.oauth(state=visit.state)
        dpop = self.uses_dpop()
        token = client.fetch_token(
            meta["token_endpoint"],
            code=query["code"],
            code_verifier=visit.verifier,
            headers={"DPoP": self.dpop_proof("POST", meta["token_endpoint"])} if dpop else None,
        )
        visit.claims = self.validate_id_token(token["id_token"], visit.nonce)
        visit.id_token = token["id_token"]
        visit.access_token = token["access_token"]
        visit.ended_by_cis = False
        scheme = "DPoP" if token["token_type"] == "DPoP" else "Bearer"  # noqa: S105 - a type
        headers = {"Authorization": f"{scheme} {visit.access_token}"}
        if scheme == "DPoP":
            userinfo = meta["userinfo_endpoint"]
            headers["DPoP"] = self.dpop_proof("GET", userinfo, visit.access_token)
        with self._http() as http:
            answer = http.get(meta["userinfo_endpoint"], headers=headers)
        visit.userinfo = answer.raise_for_status().json()
        if visit.userinfo.get("sub") != visit.claims["sub"]:
            raise ValueError("userinfo is about someone else")
        visit.state = visit.verifier = ""
        return "302 Found", [("Location", "/")], ""

    def logout(self, visit: Visit, query: dict[str, str]) -> Result:
        target = (
            self.metadata()["end_session_endpoint"]
            + "?"
            + urlencode(
                {
                    "id_token_hint": visit.id_token,
                    "post_logout_redirect_uri": self.settings.signed_out_uri,
                }
            )
        )
        visit.end()
        return "302 Found", [("Location", target)], ""

    def signed_out(self, visit: Visit, query: dict[str, str]) -> Result:
        return (
            "200 OK",
            [],
            _html("Signed out", '<p>You have signed out.</p><p><a href="/">Home</a></p>'),
        )


def _html(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} - Prescribing (example)</title>"
        "<style>body{font-family:Arial,sans-serif;margin:0}header{background:#005eb8;color:#fff;"
        "padding:16px 32px;font-size:24px}main{padding:24px 32px}th{text-align:left;"
        "padding-right:24px}.button{background:#007f3b;color:#fff;padding:10px 16px;"
        "text-decoration:none;display:inline-block}</style></head><body>"
        "<header>Prescribing <small>(an example clinical system)</small></header>"
        f"<main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
