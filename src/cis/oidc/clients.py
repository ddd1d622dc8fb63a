"""Registering clinical systems as OIDC clients (relying parties), and checking their secrets."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import transaction
from oauth2_provider.generators import generate_client_id
from oauth2_provider.models import Application

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.core.errors import ValidationFailed

# Client secrets are 48 random bytes, so a slow password hash buys nothing and would cap the
# token endpoint at a few grants per second; a salted SHA-256 is stored instead.
SECRET_PREFIX = "cis-sha256$"  # noqa: S105 - a format marker, not a secret
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def hash_client_secret(secret: str) -> str:
    salt = secrets.token_hex(16)
    return f"{SECRET_PREFIX}{salt}${hashlib.sha256((salt + secret).encode()).hexdigest()}"


def check_client_secret(provided: str, stored: str) -> bool:
    _, salt, expected = stored.split("$", 2)
    actual = hashlib.sha256((salt + provided).encode()).hexdigest()
    return hmac.compare_digest(actual, expected)


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
        algorithm="",  # the toolkit's per-client signing is unused: CIS signs with ES256 keys
    )
    application.save()
    record(
        actor=actor,
        rule=decision.rule,
        action="oidc_client.add",
        target_type="oidc_client",
        target_ref=application.client_id,
        after={
            "name": application.name,
            "redirect_uris": uris,
            "post_logout_redirect_uris": logout_uris,
        },
    )
    return NewClient(application=application, client_secret=secret)
