"""POST /oidc/introspect: token introspection (RFC 7662) for clinical systems' resource servers.

oauthlib's introspection endpoint does the protocol: POST only, the client authenticated
(client_secret_basic or client_secret_post, as at the token endpoint), `token` required, an
`token_type_hint` only a hint. CIS decides what a token is (CisValidator.introspect_token,
answered by `describe` here):

- a client learns only about tokens issued to itself (RFC 7662 §4: the server decides which
  protected resources may know about a token); any other token is simply not active;
- a token is active only while the sign-in behind it is (the same rule as userinfo): a token of
  an ended session, a revoked or expired token and an unknown one all answer `{"active": false}`
  and nothing else, so an inactive token tells nothing about whom it was for;
- a token bound to a DPoP key (RFC 9449 §6.2) is `token_type: DPoP`, with the key's thumbprint
  as `cnf.jkt`: the resource server checks the proof it came with against that key.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import AccessToken, Application, RefreshToken
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views.mixins import OAuthLibMixin

from cis.core import clock
from cis.core.digests import secret_digest

from .constants import DPOP, SYSTEM_SCOPE
from .models import CodeIssue, TokenLink
from .validator import session_in_force

ACCESS = "access_token"
REFRESH = "refresh_token"


def _access(token: str, client: Application, iss: str) -> dict[str, Any] | None:
    found = (
        AccessToken.objects.select_related("user")
        .filter(token_checksum=secret_digest(token), application=client)
        .first()
    )
    if found is None or found.is_expired():
        return None
    link = TokenLink.objects.select_related("session").filter(access_token_id=found.pk).first()
    session = link.session if link is not None else None
    binding = (
        {"token_type": DPOP, "cnf": {"jkt": link.dpop_jkt}}
        if link is not None and link.dpop_jkt
        else {"token_type": "Bearer"}
    )
    if found.user is None and session is None and found.scope == SYSTEM_SCOPE:
        # A system client's own token (client credentials): no person, no sign-in.
        return {
            **binding,
            "scope": found.scope,
            "exp": int(found.expires.timestamp()),
            "iat": int(found.created.timestamp()),
            "client_id": client.client_id,
            "sub": client.client_id,
            "iss": iss,
        }
    if found.user is None:
        return None
    if not session_in_force(session):
        return None
    return {
        **binding,
        "scope": found.scope,
        "exp": int(found.expires.timestamp()),
        "iat": int(found.created.timestamp()),
        **_about(found.user, client, session, iss),
        **({"aud": [client.client_id, *found.resource]} if found.resource else {}),
    }


def _refresh(token: str, client: Application, iss: str) -> dict[str, Any] | None:
    found = (
        RefreshToken.objects.select_related("user")
        .filter(token_checksum=secret_digest(token), application=client, revoked__isnull=True)
        .first()
    )
    if found is None:
        return None
    lifetime = oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS
    expires = int(found.created.timestamp()) + int(lifetime) if lifetime else None
    if expires is not None and clock.now().timestamp() >= expires:
        return None
    issue = (
        CodeIssue.objects.select_related("session").filter(token_family=found.token_family).first()
        if found.token_family is not None
        else None
    )
    if issue is None or issue.replayed_at is not None or not session_in_force(issue.session):
        return None
    access = AccessToken.objects.filter(pk=found.access_token_id).first()
    return {
        "token_type": "refresh_token",
        **({"scope": access.scope} if access is not None else {}),
        "iat": int(found.created.timestamp()),
        **({"exp": expires} if expires is not None else {}),
        **_about(found.user, client, issue.session, iss),
    }


def _about(person: Any, client: Application, session: Any, iss: str) -> dict[str, Any]:
    """Who the token is for, and how they signed in (the ID token's names for the same)."""
    return {
        "client_id": client.client_id,
        "sub": person.user_id,
        "username": person.user_id,
        "iss": iss,
        "acr": session.acr,
        "auth_time": int(session.auth_time.timestamp()),
        "sid": str(session.ref),
    }


def describe(
    token: str, token_type_hint: str | None, client: Application | None, *, iss: str
) -> dict[str, Any] | None:
    """What a resource server may know of an active token issued to `client`; None if inactive.

    Only a confidential client (one that proved itself with its secret) learns anything. The
    hint only decides which kind of token is looked up first (RFC 7662 §2.1).
    """
    if client is None or client.client_type != Application.CLIENT_CONFIDENTIAL:
        return None
    if not isinstance(token, str) or not token or "\x00" in token:
        return None
    kinds = (_refresh, _access) if token_type_hint == REFRESH else (_access, _refresh)
    for kind in kinds:
        found = kind(token, client, iss)
        if found is not None:
            return found
    return None


@method_decorator(csrf_exempt, name="dispatch")  # client-authenticated API: no cookies count
class IntrospectView(OAuthLibMixin, View):  # type: ignore[misc]  # the toolkit ships no hints
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        core = self.get_oauthlib_core()
        uri, method, body, headers = core._extract_params(request)
        out_headers, content, status = core.server.create_introspect_response(
            uri, method, body, headers
        )
        response = HttpResponse(content=content or "", status=status)
        for name, value in out_headers.items():
            response[name] = value
        return response
