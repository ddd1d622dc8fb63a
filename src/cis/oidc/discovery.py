"""GET /.well-known/openid-configuration: what this provider supports, and where."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from .constants import (
    ACR_VALUES,
    ASSERTION_ALGS,
    CODE_CHALLENGE_METHODS,
    DPOP_SIGNING_ALGS,
    GRANT_TYPES,
    PROMPT_VALUES,
    REQUEST_OBJECT_ALGS,
    RESPONSE_TYPES,
    SCOPES,
    SIGNING_ALGS,
    SYSTEM_SCOPE,
    TOKEN_ENDPOINT_AUTH_METHODS,
    UI_LOCALES,
    issuer,
)
from .validator import CisValidator


@require_GET
def openid_configuration(request: HttpRequest) -> JsonResponse:
    iss = issuer(request)

    def endpoint(name: str) -> str:
        return iss + reverse(f"oauth2_provider:{name}")

    document = {
        "issuer": iss,
        "authorization_endpoint": endpoint("authorize"),
        "token_endpoint": endpoint("token"),
        "userinfo_endpoint": endpoint("user-info"),
        "jwks_uri": endpoint("jwks-info"),
        "end_session_endpoint": endpoint("rp-initiated-logout"),
        "revocation_endpoint": endpoint("revoke-token"),
        "scopes_supported": [*SCOPES, SYSTEM_SCOPE],
        "response_types_supported": list(RESPONSE_TYPES),
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(SIGNING_ALGS),
        "token_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "revocation_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "introspection_endpoint": endpoint("introspect"),
        "introspection_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "code_challenge_methods_supported": list(CODE_CHALLENGE_METHODS),
        "claims_supported": CisValidator().get_discovery_claims(request),
        "acr_values_supported": list(ACR_VALUES),
        "prompt_values_supported": list(PROMPT_VALUES),
        "claims_parameter_supported": True,
        # CIS speaks British English only; ui_locales and claims_locales are accepted as
        # preferences (Core §3.1.2.1), never an error.
        "ui_locales_supported": list(UI_LOCALES),
        "claims_locales_supported": list(UI_LOCALES),
        "pushed_authorization_request_endpoint": endpoint("pushed-authorization-request"),
        # Per client (its registration); never for every client of this provider.
        "require_pushed_authorization_requests": False,
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": list(REQUEST_OBJECT_ALGS),
        # Per client (its registration's require_signed_request_object), never for all.
        "require_signed_request_object": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        # RFC 9449 §5.1; whether a client must use DPoP is its registration's
        # dpop_bound_access_tokens (§5.2).
        "dpop_signing_alg_values_supported": list(DPOP_SIGNING_ALGS),
    }
    response = JsonResponse(document)
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=3600"
    return response
