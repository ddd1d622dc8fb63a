"""OpenID Connect error codes (Core 1.0 §3.1.2.6) and how CIS words them for people."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

LOGIN_REQUIRED = "login_required"
INTERACTION_REQUIRED = "interaction_required"
INVALID_REQUEST = "invalid_request"
INVALID_GRANT = "invalid_grant"
INVALID_TOKEN = "invalid_token"  # noqa: S105 - an OAuth error code
ACCESS_DENIED = "access_denied"
REQUEST_NOT_SUPPORTED = "request_not_supported"
REQUEST_URI_NOT_SUPPORTED = "request_uri_not_supported"
INVALID_REQUEST_URI = "invalid_request_uri"
INVALID_REQUEST_OBJECT = "invalid_request_object"
INVALID_CLIENT = "invalid_client"
UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
INVALID_DPOP_PROOF = "invalid_dpop_proof"  # RFC 9449 §5, §7.1
USE_DPOP_NONCE = "use_dpop_nonce"  # RFC 9449 §8, §9
# OpenID Connect Core Unmet Authentication Requirements 1.0.
UNMET_AUTHENTICATION_REQUIREMENTS = "unmet_authentication_requirements"

DESCRIPTIONS = {
    LOGIN_REQUIRED: "The person is not signed in to CIS, or signed in too long ago.",
    INTERACTION_REQUIRED: "The person must choose the role they are working in.",
}


def error_redirect(
    redirect_uri: str, error: str, *, state: str | None, iss: str, description: str = ""
) -> str:
    """The redirect_uri (already checked as registered) with an error response added."""
    params = {"error": error, "error_description": description or DESCRIPTIONS.get(error, error)}
    if state:
        params["state"] = state
    params["iss"] = iss
    parts = urlsplit(redirect_uri)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def with_iss(uri: str, iss: str) -> str:
    """An authorization response's redirect with exactly one `iss` in its query (RFC 9207)."""
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
    query.append(("iss", iss))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
