"""CIS's rules on top of django-oauth-toolkit's validator.

What changes from the toolkit's defaults, and why:
- only the authorization code flow (response_type=code, grants authorization_code and
  refresh_token), and the redirect_uri must equal a registered one character for character;
- ID tokens are signed with the provider's ES256 key (keys.py), never HS256 or "none";
- each code and token is tied to the sign-in session it came from, so claims carry that
  session's role and assurance, and a token stops working when its session ends;
- a code presented twice revokes every token the first exchange produced (RFC 6749 §4.1.2);
- a token request with a DPoP proof (checked by TokenView, dpop.py) gets tokens bound to the
  proven key; a bound token works only with a proof of that key (RFC 9449);
- a code exchange (the provider's busiest call) reads its rows in one plain-SQL statement and
  writes them in plain SQL too (cis.core.rows), all at the end in one short transaction (TokenView):
  the same rows the toolkit's ORM calls would read and write, for a fraction of the cost.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from jwcrypto import jws
from oauth2_provider import cimd
from oauth2_provider.models import (
    AccessToken,
    Application,
    Grant,
    IDToken,
    RefreshToken,
    get_application_model,
    get_grant_model,
    get_id_token_model,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request
from oauthlib.oauth2.rfc6749 import errors

from cis.core import clock, rows, sql
from cis.core.digests import secret_digest
from cis.people.models import Person
from cis.signin.models import SignInSession

from . import dpop, keys
from .claims import all_claims, released
from .clients import SECRET_PREFIX, check_client_secret
from .constants import (
    CLAIM_SCOPES,
    DPOP,
    GRANT_TYPES,
    JWT_BEARER,
    RESPONSE_TYPES,
    SIGNING_ALG,
    SIGNING_ALGS,
    SYSTEM_SCOPE,
)
from .errors import INVALID_DPOP_PROOF
from .models import ClientRegistration, CodeIssue, TokenLink


def id_token_alg(client: Application) -> str:
    """The client's id_token_signed_response_alg, kept in the toolkit's own per-client
    `algorithm` field (read with the client's row): "RS256", or empty for CIS's ES256."""
    return "RS256" if client.algorithm == Application.RS256_ALGORITHM else SIGNING_ALG


def requested_claims(request: Request, member: str) -> set[str]:
    """Claims the authorization request's `claims` parameter named in `member` that CIS makes:
    from the request itself while the code is made and exchanged, else from its CodeIssue."""
    asked = getattr(request, "claims", None)
    if not isinstance(asked, dict):
        issue: CodeIssue | None = getattr(request, "cis_code_issue", None)
        asked = issue.claims if issue is not None else None
    part = asked.get(member) if isinstance(asked, dict) else None
    return {claim for claim in part if claim in CLAIM_SCOPES} if isinstance(part, dict) else set()


code_digest = secret_digest  # an authorization code is 256 random bits (cis.core.digests)


def session_in_force(session: SignInSession | None) -> bool:
    """Tokens live only while their sign-in session does (ended, or past its absolute limit)."""
    return session is not None and session.ended_at is None and clock.now() < session.expires_at


@dataclass(frozen=True)
class CodeRead:
    """What an authorization code leads to, read in one statement (see read_code)."""

    code: str
    grant: Grant | None
    client: Application | None  # the grant's client
    registration: ClientRegistration | None  # that client's CIS registration
    issue: CodeIssue | None
    session: SignInSession | None  # the issue's sign-in session
    person: Person | None  # that session's person


@cache
def _code_plan() -> tuple[str, tuple[rows.Reader[Any], ...]]:
    grant_model, client_model = get_grant_model(), get_application_model()
    readers: tuple[rows.Reader[Any], ...] = (
        rows.Reader(grant_model, "g"),
        rows.Reader(client_model, "a"),
        rows.Reader(ClientRegistration, "r"),
        rows.Reader(CodeIssue, "i"),
        rows.Reader(SignInSession, "s"),
        rows.Reader(Person, "p"),
    )
    code, digest = sql.column(grant_model, "code"), sql.column(CodeIssue, "digest")
    statement = (
        f"SELECT {', '.join(r.select for r in readers)}"  # noqa: S608 - names from the models
        " FROM (SELECT 1 AS one) one"
        f" LEFT JOIN {sql.table(grant_model)} g ON g.{code} = %s"
        f" LEFT JOIN {sql.table(client_model)} a"
        f" ON a.{sql.column(client_model, 'id')} = g.{sql.column(grant_model, 'application')}"
        f" LEFT JOIN {sql.table(ClientRegistration)} r"
        f" ON r.{sql.column(ClientRegistration, 'application')}"
        f" = a.{sql.column(client_model, 'id')}"
        f" LEFT JOIN {sql.table(CodeIssue)} i ON i.{digest} = %s"
        f" LEFT JOIN {sql.table(SignInSession)} s"
        f" ON s.{sql.column(SignInSession, 'id')} = i.{sql.column(CodeIssue, 'session')}"
        f" LEFT JOIN {sql.table(Person)} p"
        f" ON p.{sql.column(Person, 'id')} = s.{sql.column(SignInSession, 'person')}"
    )
    return statement, readers


def read_code(code: str) -> CodeRead:
    """The grant behind a code (whichever client it was issued to) with its client, and the
    code's CodeIssue with its sign-in session and person: what a code exchange needs to read,
    in one statement rather than the ORM's four (the dearest part of a grant was composing them).
    """
    statement, readers = _code_plan()
    row = sql.one(statement, [code, code_digest(code)])
    assert row is not None  # noqa: S101 - the driving one-row select always answers
    found = []
    start = 0
    for reader in readers:
        found.append(reader.build(row, start))
        start += reader.width
    grant, client, registration, issue, session, person = found
    if session is not None and person is not None:
        session.person = person  # read with it: no further query when the claims ask
    return CodeRead(code, grant, client, registration, issue, session, person)


@cache
def _client_plan() -> tuple[str, rows.Reader[Any]]:
    model = get_application_model()
    reader = rows.Reader(model, "a")
    column = sql.column(model, "client_id")
    statement = f"SELECT {reader.select} FROM {sql.table(model)} a WHERE a.{column} = %s"  # noqa: S608
    return statement, reader


def read_client(client_id: str) -> Application | None:
    statement, reader = _client_plan()
    row = sql.one(statement, [client_id])
    return reader.build(row) if row is not None else None


@cache
def _claim_sql() -> str:
    return (
        f"UPDATE {sql.table(CodeIssue)} SET {sql.column(CodeIssue, 'redeemed_at')} = %s,"  # noqa: S608
        f" {sql.column(CodeIssue, 'token_family')} = %s"
        f" WHERE {sql.column(CodeIssue, 'digest')} = %s"
        f" AND {sql.column(CodeIssue, 'redeemed_at')} IS NULL"
    )


@cache
def _delete_grant_sql() -> str:
    model = get_grant_model()
    return (
        f"DELETE FROM {sql.table(model)} WHERE {sql.column(model, 'code')} = %s"  # noqa: S608
        f" AND {sql.column(model, 'application')} = %s"
    )


def random_token(request: Request) -> str:
    """Access and refresh tokens (ACCESS_TOKEN_GENERATOR, REFRESH_TOKEN_GENERATOR): 256 bits.

    oauthlib's default draws each of its 30 characters from SystemRandom separately; this is
    one read of the system's randomness, and more of it.
    """
    return secrets.token_urlsafe(32)


# A code exchange reads and signs first and writes last: the token endpoint (TokenView) collects
# the exchange's writes here and runs them together in one short transaction once the answer is
# ready. On SQLite a transaction holds the database's single write lock from its first statement,
# so a transaction around the whole exchange kept every other worker waiting for the length of
# the request; this one lasts only as long as its writes. Elsewhere (refresh grants, the toolkit's
# own response path) each write runs at once, inside the caller's transaction.
_pending: ContextVar[list[Callable[[], object]] | None] = ContextVar(
    "cis_oidc_writes", default=None
)


class ClaimLost(Exception):  # noqa: N818 - an outcome, not a fault
    """The code was redeemed by a concurrent exchange between this one's read and its write."""


@contextmanager
def deferred_writes() -> Iterator[list[Callable[[], object]]]:
    """Collect the writes of the exchange within; the caller runs them, in order, in one
    transaction (run_writes)."""
    pending: list[Callable[[], object]] = []
    token = _pending.set(pending)
    try:
        yield pending
    finally:
        _pending.reset(token)


def run_writes(pending: list[Callable[[], object]]) -> None:
    """The collected writes in one transaction; ClaimLost (rolled back) if the code was taken."""
    with transaction.atomic():
        for write in pending:
            write()


def _write(operation: Callable[[], object]) -> None:
    pending = _pending.get()
    if pending is None:
        operation()
    else:
        pending.append(operation)


def _deferring() -> bool:
    return _pending.get() is not None


def _in_transaction() -> AbstractContextManager[Any]:
    """The toolkit's own atomic blocks, unless the writes are collected for one later."""
    return nullcontext() if _deferring() else transaction.atomic(savepoint=False)


@transaction.atomic
def revoke_lineage(issue: CodeIssue) -> None:
    """Revoke every token descended from a code: its access tokens and its refresh family."""
    if issue.token_family is not None:
        RefreshToken.revoke_family(issue.token_family)
    for token in AccessToken.objects.filter(cis_link__code_issue=issue):
        token.revoke()
    CodeIssue.objects.filter(pk=issue.pk).update(replayed_at=clock.now())


# What the toolkit's issuer-from-request reads of an oauthlib request's headers (its META).
_ISSUER_HEADERS = (
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "X_DJANGO_OAUTH_TOOLKIT_SECURE",
)
_ISSUERS_KEPT = 32
_issuers: dict[tuple[Any, ...], str] = {}


class CisValidator(OAuth2Validator):  # type: ignore[misc]  # the toolkit ships no type hints
    def _check_secret(self, provided_secret: str, stored_secret: str) -> bool:
        if stored_secret.startswith(SECRET_PREFIX):
            return check_client_secret(provided_secret, stored_secret)
        return bool(super()._check_secret(provided_secret, stored_secret))

    def authenticate_client(self, request: Request, *args: Any, **kw: Any) -> bool:
        """A client secret (the toolkit's way), or a private_key_jwt assertion (assertion.py)."""
        assertion_type = getattr(request, "client_assertion_type", None)
        if assertion_type is None:
            return bool(super().authenticate_client(request, *args, **kw))
        assertion = getattr(request, "client_assertion", None)
        if assertion_type != JWT_BEARER or not isinstance(assertion, str):
            return False
        from .assertion import authenticated_client  # noqa: PLC0415 - rarely needed

        iss = self.get_oidc_issuer_endpoint(request)
        client = authenticated_client(
            assertion,
            client_id=request.client_id,
            # RFC 9126 §2: at the PAR endpoint, its own URL is a fine audience too.
            audiences={
                iss,
                iss + reverse("oauth2_provider:token"),
                iss + reverse("oauth2_provider:pushed-authorization-request"),
            },
        )
        if client is None or not client.is_usable(request):
            return False
        request.client = client
        request.client_id = client.client_id
        return True

    def get_default_scopes(self, client_id: str, request: Request, *args: Any, **kw: Any) -> Any:
        if request.grant_type == "client_credentials":
            return [SYSTEM_SCOPE]
        return super().get_default_scopes(client_id, request, *args, **kw)

    def validate_scopes(
        self,
        client_id: str,
        scopes: list[str],
        client: Any,
        request: Request,
        *args: Any,
        **kw: Any,
    ) -> bool:
        """A system client's tokens carry only the system scope; nobody else's ever do."""
        if request.grant_type == "client_credentials":
            return set(scopes) <= {SYSTEM_SCOPE}
        if SYSTEM_SCOPE in scopes:
            return False
        return bool(super().validate_scopes(client_id, scopes, client, request, *args, **kw))

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
        """Called for every grant once the client is known: a client registered with
        dpop_bound_access_tokens (RFC 9449 §5.2) must send a DPoP proof, or is refused."""
        if not (
            grant_type in GRANT_TYPES
            and super().validate_grant_type(client_id, grant_type, client, request, *args, **kw)
        ):
            return False
        if dpop.presented().jkt is None:
            registration = self._registration(client, request)
            if registration is not None and registration.dpop_bound_access_tokens:
                raise errors.CustomOAuth2Error(
                    INVALID_DPOP_PROOF,
                    "This client must send a DPoP proof with each token request.",
                    request=request,
                )
        return True

    def _registration(self, client: Application, request: Request) -> ClientRegistration | None:
        """The client's registration, from the code's read where there is one (no query)."""
        read: CodeRead | None = getattr(request, "cis_code_read", None)
        if read is not None and read.client is not None and read.client.pk == client.pk:
            return read.registration
        return ClientRegistration.objects.filter(application=client).first()

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
        from .backchannel import expect  # noqa: PLC0415 - backchannel.py imports this module

        grant = super()._create_authorization_code(request, code, expires)
        session = getattr(request, "cis_session", None)
        asked = getattr(request, "claims", None)
        CodeIssue.objects.create(
            digest=code_digest(code["code"]),
            client_id=request.client.client_id,
            session=session,
            created_at=clock.now(),
            claims=asked if isinstance(asked, dict) and asked else None,
        )
        expect(client=request.client, session=session, iss=self.get_oidc_issuer_endpoint(request))
        return grant

    def get_authorization_code_scopes(
        self, client_id: str, code: str, redirect_uri: str, request: Request
    ) -> list[str]:
        """Whether the exchange is OpenID Connect; the code's rows are read here, once."""
        grant = self._code_read(code, request).grant
        return grant.scope.split() if grant is not None and grant.scope else []

    def _code_read(self, code: str, request: Request) -> CodeRead:
        """The grant, client, CodeIssue, session and person behind a code, once per request."""
        cached: CodeRead | None = getattr(request, "cis_code_read", None)
        if cached is None or cached.code != code:
            cached = read_code(code)
            request.cis_code_read = cached
        return cached

    def _load_application(self, client_id: str, request: Request) -> Application | None:
        """The toolkit's client lookup, read in plain SQL (or taken from the code's read).

        A client already on the request, an odd client_id and an unknown one (which the toolkit
        may resolve as a Client ID Metadata Document) all go the toolkit's own way.
        """
        if request.client or not isinstance(client_id, str) or "\x00" in client_id:
            return super()._load_application(client_id, request)
        read: CodeRead | None = getattr(request, "cis_code_read", None)
        if read is not None and read.client is not None and read.client.client_id == client_id:
            client = read.client  # the same row the lookup by client_id would read
        elif (
            request.grant_type == "authorization_code"
            and isinstance(request.code, str)
            and request.code
        ):
            client = self._code_read(request.code, request).client
            if client is None or client.client_id != client_id:
                client = read_client(client_id)
        else:
            client = read_client(client_id)
        if client is None:
            return super()._load_application(client_id, request)
        client = cimd.refresh_if_stale(client, request=request)
        if not client.is_usable(request):
            return None
        request.client = client
        return client

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Request, *args: Any, **kw: Any
    ) -> bool:
        digest = code_digest(code)
        read = self._code_read(code, request)
        grant, issue = read.grant, read.issue
        if grant is None or grant.application_id != client.pk or grant.is_expired():
            if issue is not None and issue.redeemed_at is not None:
                revoke_lineage(issue)
            return False
        # Without a CodeIssue, or with one already redeemed, the claim below would change no row.
        if issue is None or issue.redeemed_at is not None:
            return False
        # Claim the code in one conditional UPDATE: of two concurrent exchanges, one wins. The
        # refresh token family this exchange starts is named here too, so that a replay of the
        # code can find and revoke it (_create_refresh_token gives the refresh token this family).
        redeemed_at, family = clock.now(), uuid.uuid4()
        params = [sql.when(redeemed_at), sql.prep(CodeIssue, "token_family", family), digest]
        if _deferring():
            # The claim is the first of the exchange's writes; losing it to a concurrent
            # exchange undoes the others and the answer becomes invalid_grant (TokenView).
            def claim() -> None:
                if not sql.execute(_claim_sql(), params):
                    raise ClaimLost

            _write(claim)
        elif not sql.execute(_claim_sql(), params):
            return False
        issue.redeemed_at, issue.token_family = redeemed_at, family
        session = read.session
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

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Request, *args: Any, **kw: Any
    ) -> None:
        """The toolkit's delete of the exchanged grant, as one plain DELETE.

        The ORM would issue this same single statement (nothing refers to a grant); with delete
        receivers registered it would call them too, so then the toolkit's own delete runs.
        """
        if rows.has_receivers(get_grant_model(), *rows.DELETE_SIGNALS):
            super().invalidate_authorization_code(client_id, code, request, *args, **kw)
            return
        params = [code, request.client.pk]
        if _deferring():

            def delete() -> None:
                if not sql.execute(_delete_grant_sql(), params):
                    raise ClaimLost

            _write(delete)
        elif not sql.execute(_delete_grant_sql(), params):
            raise errors.InvalidGrantError(request=request)

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
        """As the toolkit does, but inside the token endpoint's transaction, not a savepoint.

        A refresh first locks its refresh token while still unrevoked: of concurrent refreshes
        of one token exactly one gets past this; the others (the token now revoked by the
        winner) are invalid_grant. The toolkit would instead answer them from its grace path
        with the winner's access token, which is stored hashed and so came back empty.
        """
        with _in_transaction():
            if request.grant_type == "refresh_token":
                instance = getattr(request, "refresh_token_instance", None)
                if (
                    instance is None
                    or not RefreshToken.objects.select_for_update()
                    .filter(pk=instance.pk, revoked__isnull=True)
                    .exists()
                ):
                    raise errors.InvalidGrantError(request=request)
            if dpop.presented().jkt is not None:
                token["token_type"] = DPOP  # RFC 9449 §5: bound (_create_access_token)
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
        """As the toolkit does, but with the ID token row just made, not re-read and re-verified.

        With the exchange's writes collected (see _pending), the rows are written later, in
        order: the ID token first, so its id is known by the time this row is.
        """
        id_token = getattr(request, "id_token", None) if token.get("id_token") else None
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=getattr(request, "resource", []),
        )
        self._set_token_value(access_token, token["access_token"])
        row = rows.NewRow(access_token)
        link = rows.NewRow(
            TokenLink(
                code_issue=getattr(request, "cis_code_issue", None),
                session=getattr(request, "cis_session", None),
                dpop_jkt=dpop.presented().jkt or "",
            )
        )

        def save() -> None:
            if id_token is not None:
                row.link("id_token", id_token)  # saved by now, with its id
            row.insert()
            link.link("access_token", access_token)
            link.insert()

        _write(save)
        return access_token

    def _create_refresh_token(
        self, request: Request, refresh_token_code: str, access_token: Any, previous: Any
    ) -> RefreshToken:
        """A code's first refresh token starts the family its CodeIssue names (validate_code).

        A public client's family is bound to the DPoP key the exchange proved (RFC 9449 §5); a
        confidential client's refresh tokens are already bound to it by its authentication.
        """
        issue: CodeIssue | None = getattr(request, "cis_code_issue", None)
        jkt = dpop.presented().jkt
        if (
            previous is None
            and issue is not None
            and jkt is not None
            and request.client.client_type == Application.CLIENT_PUBLIC
        ):
            bound = issue.pk

            def bind() -> None:
                CodeIssue.objects.filter(pk=bound).update(dpop_jkt=jkt)

            _write(bind)
            issue.dpop_jkt = jkt
        if previous is None and issue is not None and issue.token_family is not None:
            refresh = RefreshToken(
                user=request.user,
                application=request.client,
                token_family=issue.token_family,
                resource=getattr(request, "resource", []),
            )
            self._set_token_value(refresh, refresh_token_code)
            row = rows.NewRow(refresh)

            def save() -> None:
                row.link("access_token", access_token)  # saved by now, with its id
                row.insert()

            _write(save)
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
        if issue.dpop_jkt and dpop.presented().jkt != issue.dpop_jkt:
            raise errors.CustomOAuth2Error(
                INVALID_DPOP_PROOF,
                "This refresh token is bound to a DPoP key: prove that same key.",
                request=request,
            )
        request.cis_code_issue = issue
        request.cis_session = issue.session
        return True

    def validate_bearer_token(self, token: str, scopes: list[str], request: Request) -> bool:
        if not super().validate_bearer_token(token, scopes, request):
            return False
        link = (
            TokenLink.objects.select_related("session__person", "code_issue")
            .filter(access_token=request.access_token)
            .first()
        )
        if link is not None and not self._dpop_matches(link):
            return False
        if link is None or not session_in_force(link.session):
            request.oauth2_error = {
                "error": "invalid_token",
                "error_description": "The sign-in behind this token has ended.",
            }
            return False
        request.cis_session = link.session
        request.cis_code_issue = link.code_issue
        return True

    def _dpop_matches(self, link: TokenLink) -> bool:
        """RFC 9449 §7: a bound token only with a proof of its key (the DPoP scheme, checked by
        the resource's view); an unbound one only as a bearer token (§7.2)."""
        presented = dpop.presented()
        bound = link.dpop_jkt or None
        if bound == presented.jkt:
            return True
        if presented.jkt is None:
            presented.refused = (
                "This access token is bound to a DPoP key: send it with the DPoP scheme "
                "and a proof."
            )
        elif bound is None:
            presented.refused = "This access token is not DPoP-bound: send it as a Bearer token."
        else:
            presented.refused = "The DPoP proof is not made with the key this token is bound to."
        return False

    # -- claims and the ID token ----------------------------------------------------------

    def _claims_for(self, request: Request, member: str) -> dict[str, Any]:
        """The granted scopes' claims, and any the `claims` parameter asked for by name in
        this member ("id_token" or "userinfo"; Core §5.5). Unknown names are ignored, and
        `essential` changes nothing: CIS releases every claim it has that was asked for."""
        person: Person = request.user
        session: SignInSession | None = getattr(request, "cis_session", None)
        asked = requested_claims(request, member)
        more = {scope for claim in asked for scope in CLAIM_SCOPES[claim]}
        everything = all_claims(person, session, [*request.scopes, *more])
        claims = released(everything, request.scopes)
        claims.update({claim: everything[claim] for claim in asked if claim in everything})
        return claims

    def get_oidc_claims(self, token: Any, token_handler: Any, request: Request) -> dict[str, Any]:
        return self._claims_for(request, "id_token")

    def get_userinfo_claims(self, request: Request) -> dict[str, Any]:
        claims = self._claims_for(request, "userinfo")
        for id_token_only in ("acr", "amr", "auth_time", "sid"):
            claims.pop(id_token_only, None)
        return claims

    def introspect_token(
        self, token: str, token_type_hint: str | None, request: Request, *args: Any, **kw: Any
    ) -> dict[str, Any] | None:
        """RFC 7662: what the authenticated client may know of a token (introspect.py)."""
        from .introspect import describe  # noqa: PLC0415 - introspect.py imports this module

        iss = self.get_oidc_issuer_endpoint(request)
        return describe(token, token_type_hint, request.client, iss=iss)

    def get_discovery_claims(self, request: Any) -> list[str]:
        return sorted({*CLAIM_SCOPES, "iss", "aud", "exp", "iat", "nonce"})

    def get_oidc_issuer_endpoint(self, request: Any) -> str:
        """The toolkit's issuer; on the token endpoint, remembered for the headers it reads.

        Without CIS_OIDC_ISSUER the toolkit builds the issuer from the request's host, scheme
        and the script prefix, with a URL reversal, for every ID token. It reads nothing else,
        so the answer is kept for those values (a few hosts at most: ALLOWED_HOSTS).
        """
        if not isinstance(request, Request) or not isinstance(request.headers, dict):
            return str(super().get_oidc_issuer_endpoint(request))
        proxy_scheme = settings.SECURE_PROXY_SSL_HEADER  # the scheme a trusted proxy reports
        names = (*_ISSUER_HEADERS, proxy_scheme[0]) if proxy_scheme else _ISSUER_HEADERS
        key = (get_script_prefix(), *(request.headers.get(name) for name in names))
        found = _issuers.get(key)
        if found is None:
            found = str(super().get_oidc_issuer_endpoint(request))
            if len(_issuers) >= _ISSUERS_KEPT:
                _issuers.clear()
            _issuers[key] = found
        return found

    def get_id_token_dictionary(
        self, token: Any, token_handler: Any, request: Request
    ) -> tuple[dict[str, Any], Any]:
        """The toolkit's ID token claims (iss, exp, auth_time, jti), auth_time from the sign-in.

        With a sign-in session this is the toolkit's method written out, less the work of
        finding an auth_time from the person's last_login only to replace it.
        """
        session: SignInSession | None = getattr(request, "cis_session", None)
        if session is None:
            found: tuple[dict[str, Any], Any] = super().get_id_token_dictionary(
                token, token_handler, request
            )
            return found
        claims = self.get_oidc_claims(token, token_handler, request)
        expiration_time = timezone.now() + dt.timedelta(
            seconds=oauth2_settings.ID_TOKEN_EXPIRE_SECONDS
        )
        claims.update(
            iss=self.get_oidc_issuer_endpoint(request),
            exp=int(expiration_time.timestamp()),
            auth_time=int(session.auth_time.timestamp()),
            jti=str(uuid.uuid4()),
        )
        return claims, expiration_time

    def finalize_id_token(
        self, id_token: dict[str, Any], token: Any, token_handler: Any, request: Request
    ) -> str:
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        signed = keys.sign_jwt(id_token, alg=id_token_alg(request.client))
        # Inside the token endpoint's transaction: no savepoint of its own.
        with _in_transaction():
            stored = self._save_id_token(id_token["jti"], request, expiration_time)
        request.access_token = stored
        request.id_token = stored
        return signed

    def _save_id_token(
        self, jti: str, request: Request, expires: Any, *args: Any, **kw: Any
    ) -> IDToken:
        scopes = request.scope or " ".join(request.scopes)
        stored: IDToken = get_id_token_model()(
            user=request.user,
            scope=scopes,
            expires=expires,
            jti=jti,
            application=request.client,
        )

        _write(rows.NewRow(stored).insert)
        return stored

    def _get_key_for_token(self, token: str) -> Any:
        """Our own ES256 and RS256 keys, whoever the audience: an unsigned or HS256 token finds
        none."""
        unverified = jws.JWS()
        unverified.deserialize(token)
        header = unverified.jose_header
        if not isinstance(header, dict) or header.get("alg") not in SIGNING_ALGS:
            return None
        found = keys.key_for(header.get("kid"), header["alg"])
        return found.jwk if found is not None else None


__all__ = [
    "CisValidator",
    "ClaimLost",
    "code_digest",
    "deferred_writes",
    "revoke_lineage",
    "run_writes",
    "session_in_force",
]
