"""Protocol constants of the identity provider: scopes, claims, algorithms, acr values."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

SIGNING_ALG = "ES256"  # the default; RS256 per client (id_token_signed_response_alg)
SIGNING_ALGS = ("ES256", "RS256")
RESPONSE_TYPES = ("code",)
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
CODE_CHALLENGE_METHODS = ("S256",)
# select_account chooses the role to work in; consent is given when the service desk registers
# a clinical system, so asking for it again changes nothing.
PROMPT_VALUES = ("none", "login", "consent", "select_account")
TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
# RFC 7523 client assertions: how they are named, and what may sign them (never HS* or none).
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGS = ("ES256", "RS256", "PS256")
ASSERTION_MAX_SECONDS = 3600  # an assertion valid for longer than this is refused (an hour:
# what Authlib and most client libraries make by default)
# Pushed authorization requests (RFC 9126): the request_uri's form, how soon it must be used
# (§2.2: short), and how long a browser that arrived with it may take to sign in before the
# authorization response spends it.
PUSHED_REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
PUSHED_REQUEST_SECONDS = 60
PUSHED_REQUEST_SIGN_IN_SECONDS = 900
# Signed request objects (RFC 9101): what may sign them (as client assertions), how far ahead
# their exp may be.
REQUEST_OBJECT_ALGS = ASSERTION_ALGS
REQUEST_OBJECT_MAX_SECONDS = 3600
# DPoP (RFC 9449): what may sign a proof (asymmetric only, never none or HS*); how old a proof's
# iat may be, and how far ahead of CIS's clock (§11.1: a short window; each jti is kept this long,
# so it is never accepted twice).
DPOP_SIGNING_ALGS = ASSERTION_ALGS
DPOP_PROOF_MAX_AGE_SECONDS = 120
DPOP_PROOF_MAX_AHEAD_SECONDS = 30
# With CIS_OIDC_DPOP_NONCE, a nonce is good in the period it was given and the next one.
DPOP_NONCE_SECONDS = 300
DPOP = "DPoP"  # the token type and the HTTP authentication scheme (§5, §7.1)
# The scope of a system client's own tokens (client credentials): no person behind them.
SYSTEM_SCOPE = "system"

# Scopes and the claims each one releases, modelled on NHS CIS2 Authentication.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": ("sub", "acr", "amr", "auth_time", "sid"),
    "profile": ("name", "given_name", "family_name"),
    "email": ("email", "email_verified"),
    "nhsperson": (
        "uid",
        "nhsid_useruid",
        "name",
        "given_name",
        "family_name",
        "id_assurance_level",
        "authentication_assurance_level",
        "professional_registration",
    ),
    "associatedorgs": ("nhsid_user_orgs",),
    "nationalrbacaccess": ("nhsid_nrbac_roles",),
    "selectedrole": ("selected_roleid", "selected_role"),
}
SCOPES = tuple(SCOPE_CLAIMS)

# The scope that releases each claim (a claim in several scopes is released by any of them).
CLAIM_SCOPES: dict[str, frozenset[str]] = {}
for _scope, _claims in SCOPE_CLAIMS.items():
    for _claim in _claims:
        CLAIM_SCOPES[_claim] = CLAIM_SCOPES.get(_claim, frozenset()) | {_scope}

ACR_VALUES = ("AAL3", "AAL2", "AAL1")
UI_LOCALES = ("en-GB",)  # the portal and every message CIS writes


def issuer(request: HttpRequest) -> str:
    """CIS_OIDC_ISSUER, or this server's origin as the request reached it."""
    configured: str = settings.CIS_OIDC_ISSUER
    if configured:
        return configured
    return request.build_absolute_uri("/").rstrip("/")
