"""Signed request objects (RFC 9101, OpenID Connect Core §6.1): `request=` a JWT that carries
the authorization request, signed by the client with a key of its registered JWK set (the
same keys as its private_key_jwt assertions, assertion.py).

CIS checks: a JWS (never `alg: none`, HS*, or an encrypted object) with an algorithm of
REQUEST_OBJECT_ALGS, verified under one of the client's keys; `iss` the client's id; `aud` this
issuer; `exp` present and in the future, no further than REQUEST_OBJECT_MAX_SECONDS away;
`nbf`, when given, passed; `client_id`, when given, the client's. The request's parameters are
then the object's claims alone (RFC 9101 §6.3): anything outside it is ignored.
"""

from __future__ import annotations

import json
from typing import Any

from oauth2_provider.models import Application

from cis.core import clock

from .assertion import claims_signed_by, client_keys
from .constants import REQUEST_OBJECT_MAX_SECONDS

# The JWT's own claims: about the object, never parameters of the request it carries.
JWT_CLAIMS = ("iss", "aud", "exp", "iat", "nbf", "jti", "sub")


class RequestObjectRefused(ValueError):
    """The request object cannot be used; its message says why (for the client)."""


def request_params(request_object: str, client: Application, *, issuer: str) -> dict[str, str]:
    """The authorization request this client signed, as parameters; RequestObjectRefused."""
    if request_object.count(".") != 2:
        raise RequestObjectRefused("The request object must be a signed JWT (JWS, not JWE).")
    keys = client_keys(client)
    if keys is None:
        raise RequestObjectRefused("The client has no registered keys to verify it with.")
    claims = claims_signed_by(request_object, keys)
    if claims is None:
        raise RequestObjectRefused("The request object is not signed by one of the client's keys.")
    if claims.get("iss") != client.client_id:
        raise RequestObjectRefused("The request object's iss is not the client.")
    audience = claims.get("aud")
    if issuer not in (audience if isinstance(audience, list) else [audience]):
        raise RequestObjectRefused("The request object's aud is not this issuer.")
    now = clock.now().timestamp()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int | float) or not now < exp <= now + REQUEST_OBJECT_MAX_SECONDS:
        raise RequestObjectRefused("The request object has expired, or has no proper exp.")
    if nbf is not None and (not isinstance(nbf, int | float) or nbf > now + 60):
        raise RequestObjectRefused("The request object is not valid yet.")
    if claims.get("client_id", client.client_id) != client.client_id:
        raise RequestObjectRefused("The request object's client_id is not the client.")
    if "request" in claims or "request_uri" in claims:
        raise RequestObjectRefused("A request object cannot carry another request.")
    params = {name: _param(value) for name, value in claims.items() if name not in JWT_CLAIMS}
    params["client_id"] = client.client_id
    return params


def _param(value: Any) -> str:
    """A claim as the request parameter it stands for (objects such as `claims` as JSON)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))
