"""CIS's rules on top of django-oauth-toolkit's validator.

What changes from the toolkit's defaults, and why:
- only the authorization code flow (response_type=code, grants authorization_code and
  refresh_token), and the redirect_uri must equal a registered one character for character;
- ID tokens are signed with the provider's ES256 key (keys.py), never HS256 or "none";
- each code and token is tied to the sign-in session it came from, so claims carry that
  session's role and assurance, and a token stops working when its session ends;
- a code presented twice revokes every token the first exchange produced (RFC 6749 §4.1.2).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from django.db import transaction
from jwcrypto import jws
from oauth2_provider.models import AccessToken, Grant, RefreshToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request

from cis.core import clock
from cis.people.models import Person
from cis.signin.models import SignInSession

from . import keys
from .claims import all_claims, released
from .clients import SECRET_PREFIX, check_client_secret
from .constants import GRANT_TYPES, RESPONSE_TYPES, SIGNING_ALG
from .models import CodeIssue, TokenLink


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def session_in_force(session: SignInSession | None) -> bool:
    """Tokens live only while their sign-in session does (ended, or past its absolute limit)."""
    return session is not None and session.ended_at is None and clock.now() < session.expires_at


@transaction.atomic
def revoke_lineage(issue: CodeIssue) -> None:
    """Revoke every token descended from a code: its access tokens and its refresh family."""
    if issue.token_family is not None:
        RefreshToken.revoke_family(issue.token_family)
    for token in AccessToken.objects.filter(cis_link__code_issue=issue):
        token.revoke()
    CodeIssue.objects.filter(pk=issue.pk).update(replayed_at=clock.now())


class CisValidator(OAuth2Validator):  # type: ignore[misc]  # the toolkit ships no type hints
    def _check_secret(self, provided_secret: str, stored_secret: str) -> bool:
        if stored_secret.startswith(SECRET_PREFIX):
            return check_client_secret(provided_secret, stored_secret)
        return bool(super()._check_secret(provided_secret, stored_secret))

    # -- what may be asked for ------------------------------------------------------------

    def validate_response_type(
        self,
        client_id: str,
        response_type: str,
        client: Any,
        request: Request,
        *args: Any,
        **kw: Any,
    ) -> bool:
        return response_type in RESPONSE_TYPES and bool(
            super().validate_response_type(client_id, response_type, client, request, *args, **kw)
        )

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Request, *args: Any, **kw: Any
    ) -> bool:
        return grant_type in GRANT_TYPES and bool(
            super().validate_grant_type(client_id, grant_type, client, request, *args, **kw)
        )

    def validate_redirect_uri(
        self, client_id: str, redirect_uri: str, request: Request, *args: Any, **kw: Any
    ) -> bool:
        """Exact string match: no normalising case, slashes, query or fragment."""
        return redirect_uri in request.client.redirect_uris.split()

    def get_default_redirect_uri(
        self, client_id: str, request: Request, *args: Any, **kw: Any
    ) -> None:
        return None  # OpenID Connect requires redirect_uri on every authorization request

    def validate_silent_login(self, request: Request) -> bool:
        """prompt=none: whether someone is signed in is decided by AuthorizeView itself."""
        return True

    def validate_silent_authorization(self, request: Request) -> bool:
        """prompt=none: registered clinical systems never need consent (skip_authorization)."""
        return True

    # -- codes ----------------------------------------------------------------------------

    def _create_authorization_code(
        self, request: Request, code: dict[str, str], expires: Any = None
    ) -> Grant:
        grant = super()._create_authorization_code(request, code, expires)
        CodeIssue.objects.create(
            digest=code_digest(code["code"]),
            client_id=request.client.client_id,
            session=getattr(request, "cis_session", None),
            created_at=clock.now(),
        )
        return grant

    def get_authorization_code_scopes(
        self, client_id: str, code: str, redirect_uri: str, request: Request
    ) -> list[str]:
        """Whether the exchange is OpenID Connect; the grant read here serves validate_code too."""
        grant = self._grant_by_code(code, request)
        return grant.scope.split() if grant is not None and grant.scope else []

    def _grant_by_code(self, code: str, request: Request) -> Grant | None:
        """The grant behind a code, whichever client it was issued to, read once per request."""
        cached: tuple[str, Grant | None] | None = getattr(request, "cis_grant_lookup", None)
        if cached is None or cached[0] != code:
            # Unordered: code is unique, and .first()'s ORDER BY costs more than this read.
            found = next(iter(Grant.objects.filter(code=code).order_by()[:1]), None)
            cached = (code, found)
            request.cis_grant_lookup = cached
        return cached[1]

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Request, *args: Any, **kw: Any
    ) -> bool:
        digest = code_digest(code)
        grant = self._grant_by_code(code, request)
        if grant is None or grant.application_id != client.pk or grant.is_expired():
            used = CodeIssue.objects.filter(digest=digest, redeemed_at__isnull=False).first()
            if used is not None:
                revoke_lineage(used)
            return False
        # Claim the code in one conditional UPDATE: of two concurrent exchanges, one wins. The
        # refresh token family this exchange starts is named here too, so that a replay of the
        # code can find and revoke it (_create_refresh_token gives the refresh token this family).
        if not CodeIssue.objects.filter(digest=digest, redeemed_at__isnull=True).update(
            redeemed_at=clock.now(), token_family=uuid.uuid4()
        ):
            return False
        issue = CodeIssue.objects.select_related("session__person").get(digest=digest)
        session = issue.session
        # A code is made for the person signed in to its session; anything else is refused.
        if session is None or not session_in_force(session) or session.person_id != grant.user_id:
            return False
        request.scopes = grant.scope.split(" ")
        request.user = session.person  # the grant's user, read with the session
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        request.cis_grant = grant
        request.cis_code_issue = issue
        request.cis_session = session
        return True

    # The grant was read once in validate_code; the toolkit would read it again for each of these.

    def _grant(self, code: str, request: Request) -> Grant:
        grant: Grant | None = getattr(request, "cis_grant", None)
        if grant is None or grant.code != code:
            grant = Grant.objects.get(code=code, application=request.client)
        return grant

    def get_code_challenge(self, code: str, request: Request) -> str | None:
        return self._grant(code, request).code_challenge or None

    def get_code_challenge_method(self, code: str, request: Request) -> str | None:
        return self._grant(code, request).code_challenge_method or None

    def confirm_redirect_uri(
        self, client_id: str, code: str, redirect_uri: str, client: Any, *args: Any, **kw: Any
    ) -> bool:
        request = kw.get("request") or (args[0] if args else None)
        grant = (
            self._grant(code, request)
            if request is not None
            else Grant.objects.get(code=code, application=client)
        )
        return bool(grant.redirect_uri_allowed(redirect_uri))

    def get_authorization_code_nonce(
        self, client_id: str, code: str, redirect_uri: str, request: Request
    ) -> str | None:
        return self._grant(code, request).nonce or None

    # -- tokens ---------------------------------------------------------------------------

    def save_bearer_token(
        self, token: dict[str, Any], request: Request, *args: Any, **kw: Any
    ) -> Any:
        """As the toolkit does, but inside the token endpoint's transaction, not a savepoint."""
        with transaction.atomic(savepoint=False):
            return self._save_bearer_token(token, request, *args, **kw)

    def _check_and_set_request_resource(self, request: Request) -> None:
        """RFC 8707 resource indicators, as the toolkit checks them.

        When neither the token request nor the grant names a resource, the toolkit's answer is
        "no resource"; it is given here without reading the grant a second time.
        """
        grant: Grant | None = getattr(request, "cis_grant", None)
        if (
            request.grant_type == "authorization_code"
            and grant is not None
            and grant.code == request.code
            and not grant.resource
            and not getattr(request, "resource", None)
        ):
            request.resource = []
            return
        super()._check_and_set_request_resource(request)

    def _create_access_token(
        self,
        expires: Any,
        request: Request,
        token: dict[str, Any],
        source_refresh_token: Any = None,
    ) -> AccessToken:
        """As the toolkit does, but with the ID token row just made, not re-read and re-verified."""
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=getattr(request, "id_token", None) if token.get("id_token") else None,
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=getattr(request, "resource", []),
        )
        self._set_token_value(access_token, token["access_token"])
        access_token.save()
        TokenLink.objects.create(
            access_token=access_token,
            code_issue=getattr(request, "cis_code_issue", None),
            session=getattr(request, "cis_session", None),
        )
        return access_token

    def _create_refresh_token(
        self, request: Request, refresh_token_code: str, access_token: Any, previous: Any
    ) -> RefreshToken:
        """A code's first refresh token starts the family its CodeIssue names (validate_code)."""
        issue: CodeIssue | None = getattr(request, "cis_code_issue", None)
        if previous is None and issue is not None and issue.token_family is not None:
            refresh = RefreshToken(
                user=request.user,
                application=request.client,
                access_token=access_token,
                token_family=issue.token_family,
                resource=getattr(request, "resource", []),
            )
            self._set_token_value(refresh, refresh_token_code)
            refresh.save()
            return refresh
        refresh = super()._create_refresh_token(request, refresh_token_code, access_token, previous)
        if issue is not None and issue.token_family is None:
            CodeIssue.objects.filter(pk=issue.pk).update(token_family=refresh.token_family)
            issue.token_family = refresh.token_family
        return refresh

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Request, *args: Any, **kw: Any
    ) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kw):
            return False
        rt = request.refresh_token_instance
        issue = (
            CodeIssue.objects.select_related("session__person")
            .filter(token_family=rt.token_family)
            .first()
        )
        if issue is None or issue.replayed_at is not None or not session_in_force(issue.session):
            return False
        request.cis_code_issue = issue
        request.cis_session = issue.session
        return True

    def validate_bearer_token(self, token: str, scopes: list[str], request: Request) -> bool:
        if not super().validate_bearer_token(token, scopes, request):
            return False
        link = (
            TokenLink.objects.select_related("session__person")
            .filter(access_token=request.access_token)
            .first()
        )
        if link is None or not session_in_force(link.session):
            request.oauth2_error = {
                "error": "invalid_token",
                "error_description": "The sign-in behind this token has ended.",
            }
            return False
        request.cis_session = link.session
        return True

    # -- claims and the ID token ----------------------------------------------------------

    def _claims_for(self, request: Request) -> dict[str, Any]:
        person: Person = request.user
        session: SignInSession | None = getattr(request, "cis_session", None)
        return released(all_claims(person, session, request.scopes), request.scopes)

    def get_oidc_claims(self, token: Any, token_handler: Any, request: Request) -> dict[str, Any]:
        return self._claims_for(request)

    def get_userinfo_claims(self, request: Request) -> dict[str, Any]:
        claims = self._claims_for(request)
        for id_token_only in ("acr", "amr", "auth_time", "sid"):
            claims.pop(id_token_only, None)
        return claims

    def get_discovery_claims(self, request: Any) -> list[str]:
        from .constants import CLAIM_SCOPES  # noqa: PLC0415 - keeps the import list short

        return sorted({*CLAIM_SCOPES, "iss", "aud", "exp", "iat", "nonce"})

    def get_oidc_issuer_endpoint(self, request: Any) -> str:
        return str(super().get_oidc_issuer_endpoint(request))

    def get_id_token_dictionary(
        self, token: Any, token_handler: Any, request: Request
    ) -> tuple[dict[str, Any], Any]:
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        session: SignInSession | None = getattr(request, "cis_session", None)
        if session is not None:
            claims["auth_time"] = int(session.auth_time.timestamp())
        return claims, expiration_time

    def finalize_id_token(
        self, id_token: dict[str, Any], token: Any, token_handler: Any, request: Request
    ) -> str:
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        signed = keys.sign_jwt(id_token)
        # Inside the token endpoint's transaction: no savepoint of its own.
        with transaction.atomic(savepoint=False):
            stored = self._save_id_token(id_token["jti"], request, expiration_time)
        request.access_token = stored
        request.id_token = stored
        return signed

    def _get_key_for_token(self, token: str) -> Any:
        """Our own ES256 keys, whoever the audience: an unsigned or HS256 token finds none."""
        unverified = jws.JWS()
        unverified.deserialize(token)
        header = unverified.jose_header
        if not isinstance(header, dict) or header.get("alg") != SIGNING_ALG:
            return None
        found = keys.key_for(header.get("kid"))
        return found.jwk if found is not None else None


__all__ = ["CisValidator", "code_digest", "revoke_lineage", "session_in_force"]
