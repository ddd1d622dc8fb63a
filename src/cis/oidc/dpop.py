"""DPoP (RFC 9449): a client proves, request by request, that it holds the private key its access
token is bound to, so that a stolen token alone is useless.

A proof is a JWT the client signs for one HTTP request. CIS checks it as §4.3 says: one `DPoP`
header; a JWS (never `alg: none` or HS*: DPOP_SIGNING_ALGS) whose header has `typ: dpop+jwt`
and the public key (`jwk`, never a private one) that verifies it; `htm` the request's method,
`htu` its URI (as discovery names the endpoint; query and fragment ignored); `iat` inside the
window of DPOP_PROOF_MAX_AGE_SECONDS before now and DPOP_PROOF_MAX_AHEAD_SECONDS after; a `jti`
never used before with that key (kept in DPoPProofUse while the proof could still be accepted);
at a protected resource, `ath` the SHA-256 of the access token it comes with.

The token endpoint (token.py) and the userinfo endpoint (userinfo.py) check proofs and say which
key was proven for the request they answer (`proving`); the validator binds tokens to it and
refuses a bound token without it. A key is named by its RFC 7638 thumbprint (`jkt`), as the
token's `cnf` claim names it (§6).

With CIS_OIDC_DPOP_NONCE, a proof must also carry a `nonce` CIS gave (§8, §9) in a `DPoP-Nonce`
header: an HMAC of the current period under the installation's secret key, so every process
knows it without sharing state; a proof without it (or with a stale one) is `use_dpop_nonce`,
with the nonce to use.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from cis.core import clock
from cis.core.digests import keyed_digest, secret_digest

from .constants import (
    DPOP,
    DPOP_NONCE_SECONDS,
    DPOP_PROOF_MAX_AGE_SECONDS,
    DPOP_PROOF_MAX_AHEAD_SECONDS,
    DPOP_SIGNING_ALGS,
)
from .models import DPoPProofUse

log = logging.getLogger(__name__)

PROOF_TYPE = "dpop+jwt"
HEADER = "DPoP"
NONCE_HEADER = "DPoP-Nonce"
# Members that only a private key has (RFC 7518 §6.2.2, §6.3.2): a proof carries the public half.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_MAX_JTI = 256


class ProofRefused(ValueError):
    """The DPoP proof cannot be accepted; the message says why (for the client)."""


class NonceNeeded(ProofRefused):
    """The proof lacks the nonce CIS requires (or has a stale one): `use_dpop_nonce`."""


def nonce_required() -> bool:
    return bool(settings.CIS_OIDC_DPOP_NONCE)


def _nonce_for(period: int) -> str:
    return keyed_digest(str(period), purpose="dpop-nonce")[:32]


def nonce() -> str:
    """The nonce to give clients now (§8.1)."""
    return _nonce_for(int(clock.now().timestamp()) // DPOP_NONCE_SECONDS)


def _nonce_valid(given: Any) -> bool:
    period = int(clock.now().timestamp()) // DPOP_NONCE_SECONDS
    return isinstance(given, str) and given in (_nonce_for(period), _nonce_for(period - 1))


@dataclass
class Presented:
    """What one request proved: the key (its thumbprint), or None when it sent no proof; and,
    at a protected resource, why the validator refused the token (for WWW-Authenticate)."""

    jkt: str | None
    refused: str = ""


_presented: ContextVar[Presented | None] = ContextVar("cis_dpop_presented", default=None)


@contextmanager
def proving(jkt: str | None) -> Iterator[Presented]:
    """For the request within: the key its DPoP proof proved (None: no proof)."""
    presented = Presented(jkt)
    token = _presented.set(presented)
    try:
        yield presented
    finally:
        _presented.reset(token)


def presented() -> Presented:
    """What the request being answered proved (nothing, outside `proving`)."""
    return _presented.get() or Presented(None)


def access_token_hash(access_token: str) -> str:
    """`ath` (§4.2): base64url of the SHA-256 of the token's ASCII, without padding."""
    digest = hashlib.sha256(access_token.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _same_uri(htu: Any, expected: str) -> bool:
    """§4.3 item 9: the same URI once normalised (RFC 3986 §6.2.2, §6.2.3), ignoring the query
    and fragment: scheme and host are case-insensitive, a default port may be left out."""
    if not isinstance(htu, str):
        return False
    try:
        given, wanted = urlsplit(htu), urlsplit(expected)
        ports = (given.port, wanted.port)
    except ValueError:
        return False
    defaults = {"https": 443, "http": 80}

    def port(scheme: str, value: int | None) -> int | None:
        return value if value is not None else defaults.get(scheme.lower())

    return (
        given.scheme.lower() == wanted.scheme.lower()
        and (given.hostname or "") == (wanted.hostname or "")
        and port(given.scheme, ports[0]) == port(wanted.scheme, ports[1])
        and (given.path or "/") == (wanted.path or "/")
    )


def _public_key(header: dict[str, Any]) -> jwk.JWK:
    given = header.get("jwk")
    if not isinstance(given, dict) or given.get("kty") not in ("EC", "RSA"):
        raise ProofRefused("The proof's header must carry the public key (jwk): EC or RSA.")
    if _PRIVATE_MEMBERS & set(given):
        raise ProofRefused("The proof's jwk holds a private key: send only the public half.")
    try:
        return jwk.JWK.from_json(json.dumps(given))
    except (JWException, ValueError, TypeError) as exc:
        raise ProofRefused("The proof's jwk is not a valid key.") from exc


def proof_verify(
    value: str | None, *, method: str, uri: str, access_token: str | None = None
) -> str:
    """The thumbprint of the key that proves this request (`value`: its DPoP header), once the
    proof passes every check of §4.3 and its jti is recorded as used; else ProofRefused."""
    try:
        return _verified(value, method=method, uri=uri, access_token=access_token)
    except ProofRefused as exc:
        # A replayed or misdirected proof may be a stolen token being tried: worth a line.
        log.info("DPoP proof refused at %s %s: %s", method, uri, exc)
        raise


def _verified(value: str | None, *, method: str, uri: str, access_token: str | None) -> str:
    if not value or "," in value or value.count(".") != 2:
        # Several DPoP headers arrive joined by commas; a compact JWS never holds one.
        raise ProofRefused("Send exactly one DPoP header holding one signed JWT.")
    proof = jws.JWS()
    try:
        proof.deserialize(value.strip())
        header = proof.jose_header
    except (JWException, ValueError, TypeError) as exc:
        raise ProofRefused("The DPoP proof is not a signed JWT.") from exc
    if not isinstance(header, dict) or header.get("typ") != PROOF_TYPE:
        raise ProofRefused(f"The DPoP proof's typ must be {PROOF_TYPE}.")
    alg = header.get("alg")
    if alg not in DPOP_SIGNING_ALGS:
        raise ProofRefused(f"The DPoP proof's alg must be one of {', '.join(DPOP_SIGNING_ALGS)}.")
    key = _public_key(header)
    try:
        proof.verify(key, alg=alg)
        claims = json.loads(proof.payload)
    except (JWException, ValueError, TypeError) as exc:
        raise ProofRefused("The DPoP proof's signature does not verify with its jwk.") from exc
    if not isinstance(claims, dict):
        raise ProofRefused("The DPoP proof's payload is not a JSON object.")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= _MAX_JTI:
        raise ProofRefused("The DPoP proof needs a jti.")
    if claims.get("htm") != method:
        raise ProofRefused(f"The DPoP proof's htm is not {method}, this request's method.")
    if not _same_uri(claims.get("htu"), uri):
        raise ProofRefused(f"The DPoP proof's htu is not {uri}, this request's URI.")
    iat = claims.get("iat")
    now = clock.now().timestamp()
    if (
        not isinstance(iat, int | float)
        or isinstance(iat, bool)
        or not now - DPOP_PROOF_MAX_AGE_SECONDS <= iat <= now + DPOP_PROOF_MAX_AHEAD_SECONDS
    ):
        raise ProofRefused(
            "The DPoP proof's iat is missing or outside the accepted window: make a new proof "
            "for each request."
        )
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise ProofRefused("The DPoP proof's ath is not the hash of the access token it came with.")
    if nonce_required() and not _nonce_valid(claims.get("nonce")):
        raise NonceNeeded("Make the DPoP proof again with the nonce in the DPoP-Nonce header.")
    jkt = str(key.thumbprint())  # RFC 7638, SHA-256, base64url
    _spend(jkt, jti, iat)
    return jkt


def _spend(jkt: str, jti: str, iat: float) -> None:
    """Record the jti as used with this key (§11.1); a second use is refused."""
    until = dt.datetime.fromtimestamp(iat + DPOP_PROOF_MAX_AGE_SECONDS, tz=dt.UTC)
    try:
        with transaction.atomic():
            DPoPProofUse.objects.create(digest=secret_digest(f"{jkt}\x00{jti}"), expires_at=until)
    except IntegrityError:
        raise ProofRefused("This DPoP proof was used already: make a new one.") from None


def challenge(error: str = "", description: str = "") -> str:
    """A `WWW-Authenticate: DPoP` challenge (§7.1), naming the algorithms CIS accepts."""
    parts = []
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description.replace(chr(34), chr(39))}"')
    parts.append(f'algs="{" ".join(DPOP_SIGNING_ALGS)}"')
    return f"{DPOP} {', '.join(parts)}"
