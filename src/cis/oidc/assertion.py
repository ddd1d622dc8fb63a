"""private_key_jwt client authentication (RFC 7523 §2.2, OpenID Connect Core §9).

A system client proves itself at the token endpoint with a short JWT it signed with a private
key whose public half it registered (ClientRegistration.jwks), instead of a shared secret. CIS
checks (RFC 7523 §3): the signature, with one of the client's keys and an asymmetric algorithm;
`iss` and `sub` both the client's id; `aud` naming this token endpoint or the issuer; `exp` in
the future and no further than ASSERTION_MAX_SECONDS away; a `jti` never used before (kept in
ClientAssertionUse until the assertion would have expired anyway).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import IntegrityError, transaction
from jwcrypto import jwk, jws
from jwcrypto.common import JWException
from oauth2_provider.models import Application

from cis.core import clock
from cis.core.digests import secret_digest
from cis.core.errors import ValidationFailed

from .constants import ASSERTION_ALGS, ASSERTION_MAX_SECONDS
from .models import ClientAssertionUse, ClientRegistration


def claims_signed_by(assertion: str, keys: jwk.JWKSet) -> dict[str, Any] | None:
    """A JWT's claims if one of `keys` signed it with an allowed algorithm (never `none` or
    HS*): client assertions here, and request objects (request_object.py)."""
    token = jws.JWS()
    try:
        token.deserialize(assertion)
        header = token.jose_header
        if not isinstance(header, dict) or header.get("alg") not in ASSERTION_ALGS:
            return None
        token.verify(keys)
        claims = json.loads(token.payload)
    except (JWException, ValueError, TypeError):
        return None
    return claims if isinstance(claims, dict) else None


def unverified_issuer(assertion: str) -> str | None:
    """Whom the assertion says it is from (to find their keys); trusted only once verified."""
    token = jws.JWS()
    try:
        token.deserialize(assertion)
        claims = json.loads(token.objects["payload"])
    except (JWException, ValueError, TypeError, KeyError):
        return None
    iss = claims.get("iss") if isinstance(claims, dict) else None
    return iss if isinstance(iss, str) else None


def client_keys(client: Application) -> jwk.JWKSet | None:
    registration = ClientRegistration.objects.filter(application=client).first()
    if registration is None or not registration.jwks:
        return None
    return jwk.JWKSet.from_json(json.dumps(registration.jwks))


def authenticated_client(
    assertion: str, *, client_id: str | None, audiences: set[str]
) -> Application | None:
    """The client this assertion proves, or None (every failure looks the same to the caller)."""
    claimed = unverified_issuer(assertion)
    if claimed is None or (client_id and client_id != claimed):
        return None
    client = Application.objects.filter(client_id=claimed).first()
    keys = client_keys(client) if client is not None else None
    if client is None or keys is None:
        return None
    claims = claims_signed_by(assertion, keys)
    if claims is None or claims.get("iss") != claimed or claims.get("sub") != claimed:
        return None
    audience = claims.get("aud")
    named = set(audience) if isinstance(audience, list) else {audience}
    if not named & audiences:
        return None
    now = clock.now().timestamp()
    exp, jti = claims.get("exp"), claims.get("jti")
    if not isinstance(exp, int | float) or not now < exp <= now + ASSERTION_MAX_SECONDS:
        return None
    if not isinstance(jti, str) or not jti:
        return None
    digest = secret_digest(f"{claimed}\x00{jti}")
    try:
        with transaction.atomic():
            ClientAssertionUse.objects.create(
                digest=digest,
                client_id=claimed,
                expires_at=dt.datetime.fromtimestamp(exp, tz=dt.UTC),
            )
    except IntegrityError:  # this jti was used already: a replay
        return None
    return client


def check_public_jwks(value: Any) -> dict[str, Any]:
    """A registered JWK set: public asymmetric keys only (a private or shared key is refused)."""
    keys = value.get("keys") if isinstance(value, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ValidationFailed("Give a JWK set with at least one public key.", field="jwks")
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") not in ("EC", "RSA"):
            raise ValidationFailed("Each key must be an EC or RSA public key.", field="jwks")
        if "d" in key:
            raise ValidationFailed(
                "The JWK set holds a private key: register only the public half.", field="jwks"
            )
    try:
        jwk.JWKSet.from_json(json.dumps(value))
    except (JWException, ValueError, TypeError) as exc:
        raise ValidationFailed(f"The JWK set is not valid: {exc}", field="jwks") from None
    return {"keys": keys}
