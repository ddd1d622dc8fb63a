"""Registering clinical systems as OIDC clients (relying parties), and checking their secrets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from oauth2_provider.generators import generate_client_id
from oauth2_provider.models import Application

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.core import clock
from cis.core.digests import digests_match, secret_digest
from cis.core.errors import NotFound, ValidationFailed

from .constants import SIGNING_ALG, SIGNING_ALGS
from .models import ClientRegistration, RetiredClient

# Client secrets are 48 random bytes, so a slow password hash buys nothing and would cap the
# token endpoint at a few grants per second; a salted SHA-256 is stored instead.
SECRET_PREFIX = "cis-sha256$"  # noqa: S105 - a format marker, not a secret
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def hash_client_secret(secret: str) -> str:
    salt = secrets.token_hex(16)
    return f"{SECRET_PREFIX}{salt}${secret_digest(salt + secret)}"


def check_client_secret(provided: str, stored: str) -> bool:
    _, salt, expected = stored.split("$", 2)
    return digests_match(secret_digest(salt + provided), expected)


def check_redirect_uri(uri: str, *, field: str = "redirect_uri") -> str:
    """An absolute https URI (http only on this machine's loopback), no fragment or userinfo."""
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationFailed(f"'{uri}' is not an absolute http(s) URI.", field=field)
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValidationFailed(
            f"'{uri}' must use https: plain http is allowed only for 127.0.0.1 and localhost.",
            field=field,
        )
    if "#" in uri or "@" in parts.netloc:
        raise ValidationFailed(
            f"'{uri}' must not carry a fragment or user credentials.", field=field
        )
    return uri


@dataclass(frozen=True)
class NewClient:
    application: Application
    client_secret: str


@transaction.atomic
def oidc_client_add(
    *,
    actor: Actor,
    name: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str] | None = None,
    id_token_signed_response_alg: str = SIGNING_ALG,
    backchannel_logout_uri: str = "",
    backchannel_logout_session_required: bool = False,
    require_pushed_authorization_requests: bool = False,
    require_signed_request_object: bool = False,
    dpop_bound_access_tokens: bool = False,
) -> NewClient:
    """A confidential client for the code flow; its secret is shown once, here, and never again."""
    decision = require(actor, Action.OIDC_CLIENT_MANAGE)
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("Enter the clinical system's name.", field="name")
    if not redirect_uris:
        raise ValidationFailed("Give at least one redirect URI.", field="redirect_uri")
    uris = [check_redirect_uri(u) for u in redirect_uris]
    logout_uris = [
        check_redirect_uri(u, field="post_logout_redirect_uri")
        for u in (post_logout_redirect_uris or [])
    ]
    backchannel = _backchannel_uri(backchannel_logout_uri)
    secret = secrets.token_urlsafe(48)
    application = Application(
        name=name[:255],
        client_id=generate_client_id(),
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(uris),
        post_logout_redirect_uris=" ".join(logout_uris),
        skip_authorization=True,  # clinical systems are registered by the service desk
        hash_client_secret=False,  # stored hashed by hash_client_secret, not Django's hasher
        client_secret=hash_client_secret(secret),
        algorithm=_algorithm_field(id_token_signed_response_alg),
    )
    application.save()
    ClientRegistration.objects.create(
        application=application,
        backchannel_logout_uri=backchannel,
        backchannel_logout_session_required=backchannel_logout_session_required,
        require_pushed_authorization_requests=require_pushed_authorization_requests,
        require_signed_request_object=require_signed_request_object,
        dpop_bound_access_tokens=dpop_bound_access_tokens,
    )
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.OIDC_CLIENT_MANAGE,
        target_type="oidc_client",
        target_ref=application.client_id,
        after={
            "step": "registered",
            "name": application.name,
            "redirect_uris": uris,
            "post_logout_redirect_uris": logout_uris,
            **client_settings(application),
        },
    )
    return NewClient(application=application, client_secret=secret)


@transaction.atomic
def oidc_system_client_add(*, actor: Actor, name: str, jwks: Any) -> Application:
    """A system client: it calls other systems as itself (client credentials, RFC 6749 §4.4),
    never on anyone's behalf, and proves itself only with private_key_jwt (RFC 7523) under
    the public keys it registers here. It has no secret that anyone ever sees."""
    from .assertion import check_public_jwks  # noqa: PLC0415 - assertion.py imports models only

    decision = require(actor, Action.OIDC_CLIENT_MANAGE)
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("Enter the system's name.", field="name")
    keys = check_public_jwks(jwks)
    application = Application(
        name=name[:255],
        client_id=generate_client_id(),
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        redirect_uris="",
        skip_authorization=True,
        hash_client_secret=False,
        # A secret nobody is given: the client authenticates with its keys alone.
        client_secret=hash_client_secret(secrets.token_urlsafe(48)),
        algorithm=Application.NO_ALGORITHM,
    )
    application.save()
    ClientRegistration.objects.create(application=application, jwks=keys)
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.OIDC_CLIENT_MANAGE,
        target_type="oidc_client",
        target_ref=application.client_id,
        after={
            "step": "registered",
            "name": application.name,
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "key_ids": [k.get("kid", "") for k in keys["keys"]],
        },
    )
    return application


def _algorithm_field(alg: str) -> str:
    """id_token_signed_response_alg as the toolkit's `algorithm` field keeps it: "RS256", or
    empty for CIS's ES256 (the toolkit's own HS256 is never used: a shared secret is no proof)."""
    if alg not in SIGNING_ALGS:
        raise ValidationFailed(
            f"The ID token signing algorithm must be one of {', '.join(SIGNING_ALGS)}.",
            field="id_token_signed_response_alg",
        )
    return str(Application.RS256_ALGORITHM if alg == "RS256" else Application.NO_ALGORITHM)


def _backchannel_uri(uri: str) -> str:
    """Back-Channel Logout 1.0 §2.2: absolute, https (http on loopback only), no fragment."""
    uri = uri.strip()
    return check_redirect_uri(uri, field="backchannel_logout_uri") if uri else ""


def registration(application: Application) -> ClientRegistration:
    """The client's CIS registration row (made here for a client registered before it existed)."""
    found, _ = ClientRegistration.objects.get_or_create(application=application)
    return found


def client_settings(application: Application) -> dict[str, Any]:
    """A client's protocol settings, as their registration metadata names them."""
    more = ClientRegistration.objects.filter(application=application).first()
    return {
        "id_token_signed_response_alg": (
            "RS256" if application.algorithm == Application.RS256_ALGORITHM else SIGNING_ALG
        ),
        "backchannel_logout_uri": more.backchannel_logout_uri if more else "",
        "backchannel_logout_session_required": bool(
            more and more.backchannel_logout_session_required
        ),
        "require_pushed_authorization_requests": bool(
            more and more.require_pushed_authorization_requests
        ),
        "require_signed_request_object": bool(more and more.require_signed_request_object),
        "dpop_bound_access_tokens": bool(more and more.dpop_bound_access_tokens),
        "jwks_key_ids": [k.get("kid", "") for k in (more.jwks or {}).get("keys", [])]
        if more
        else [],
    }


@transaction.atomic
def oidc_client_update(
    *,
    actor: Actor,
    client_id: str,
    id_token_signed_response_alg: str | None = None,
    backchannel_logout_uri: str | None = None,
    backchannel_logout_session_required: bool | None = None,
    require_pushed_authorization_requests: bool | None = None,
    require_signed_request_object: bool | None = None,
    dpop_bound_access_tokens: bool | None = None,
    jwks: Any = None,
) -> Application:
    """Change a client's protocol settings (each argument left None stays as it is; an empty
    backchannel_logout_uri removes it). `jwks`: the public keys it signs request objects and
    client assertions with (an empty JWK set {"keys": []} removes them)."""
    from .assertion import check_public_jwks  # noqa: PLC0415 - assertion.py imports models only

    decision = require(actor, Action.OIDC_CLIENT_MANAGE)
    application = Application.objects.select_for_update().filter(client_id=client_id).first()
    if application is None:
        raise NotFound("There is no clinical system registered with that client id.")
    before = client_settings(application)
    if id_token_signed_response_alg is not None:
        application.algorithm = _algorithm_field(id_token_signed_response_alg)
    more = registration(application)
    if backchannel_logout_uri is not None:
        more.backchannel_logout_uri = _backchannel_uri(backchannel_logout_uri)
    if backchannel_logout_session_required is not None:
        more.backchannel_logout_session_required = backchannel_logout_session_required
    if require_pushed_authorization_requests is not None:
        more.require_pushed_authorization_requests = require_pushed_authorization_requests
    if require_signed_request_object is not None:
        more.require_signed_request_object = require_signed_request_object
    if dpop_bound_access_tokens is not None:
        more.dpop_bound_access_tokens = dpop_bound_access_tokens
    if jwks is not None:
        more.jwks = None if jwks == {"keys": []} else check_public_jwks(jwks)
    application.save(update_fields=["algorithm", "updated"])
    more.save()
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.OIDC_CLIENT_MANAGE,
        target_type="oidc_client",
        target_ref=application.client_id,
        before=before,
        after={"step": "settings_changed", **client_settings(application)},
    )
    return application


# The name the service desk's screens use; `oidc_client_add` stays for the console command.
oidc_client_register = oidc_client_add


def oidc_client_list(*, actor: Actor) -> list[Application]:
    """Every live client, by name (the service desk)."""
    require(actor, Action.OIDC_CLIENT_MANAGE)
    return list(Application.objects.order_by("name", "client_id"))


def oidc_retired_list(*, actor: Actor) -> list[RetiredClient]:
    require(actor, Action.OIDC_CLIENT_MANAGE)
    return list(RetiredClient.objects.all())


def oidc_client_get(*, actor: Actor, client_id: str) -> Application:
    require(actor, Action.OIDC_CLIENT_MANAGE)
    application = Application.objects.filter(client_id=client_id.strip()).first()
    if application is None:
        retired = RetiredClient.objects.filter(client_id=client_id.strip()).first()
        if retired is not None:
            raise NotFound(f"The client {retired.name} ({retired.client_id}) has been retired.")
        raise NotFound(f"No OIDC client {client_id.strip()}.")
    return application


@transaction.atomic
def oidc_client_rotate_secret(*, actor: Actor, client_id: str) -> NewClient:
    """A new secret, shown once; the old one stops working at once (tokens already issued
    stay valid until they expire)."""
    decision = require(actor, Action.OIDC_CLIENT_MANAGE)
    application = (
        Application.objects.select_for_update().filter(client_id=client_id.strip()).first()
    )
    if application is None:
        raise NotFound(f"No OIDC client {client_id.strip()}.")
    secret = secrets.token_urlsafe(48)
    application.client_secret = hash_client_secret(secret)
    application.save(update_fields=["client_secret", "updated"])
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.OIDC_CLIENT_MANAGE,
        target_type="oidc_client",
        target_ref=application.client_id,
        after={
            "step": "secret_rotated",
            "name": application.name,
            "secret_rotated_at": clock.now(),
        },
    )
    return NewClient(application=application, client_secret=secret)


@transaction.atomic
def oidc_client_retire(*, actor: Actor, client_id: str, reason: str) -> RetiredClient:
    """Retire a client for good: its tokens, refresh tokens and codes die with it, and its
    client id can never sign anyone in again."""
    decision = require(actor, Action.OIDC_CLIENT_MANAGE)
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationFailed("Say why the client is being retired.", field="reason")
    application = (
        Application.objects.select_for_update().filter(client_id=client_id.strip()).first()
    )
    if application is None:
        raise NotFound(f"No OIDC client {client_id.strip()}.")
    tokens = application.accesstoken_set.count()
    retired = RetiredClient.objects.create(
        client_id=application.client_id,
        name=application.name,
        redirect_uris=application.redirect_uris,
        registered_at=application.created,
        retired_at=clock.now(),
        retired_by_ref=str(getattr(actor, "audit_ref", None) or getattr(actor, "user_id", "")),
        retired_by_name=str(getattr(actor, "audit_name", None) or getattr(actor, "full_name", "")),
        reason=reason[:500],
    )
    application.delete()  # the toolkit's tokens, refresh tokens and grants go with it
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.OIDC_CLIENT_MANAGE,
        target_type="oidc_client",
        target_ref=retired.client_id,
        before={"name": retired.name, "redirect_uris": retired.redirect_uris.split()},
        after={
            "step": "retired",
            "retired": True,
            "reason": retired.reason,
            "tokens_revoked": tokens,
        },
    )
    return retired
