"""OpenID Connect error codes (Core 1.0 §3.1.2.6) and how CIS words them for people."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

LOGIN_REQUIRED = "login_required"
INTERACTION_REQUIRED = "interaction_required"
INVALID_REQUEST = "invalid_request"
INVALID_GRANT = "invalid_grant"
INVALID_TOKEN = "invalid_token"  # noqa: S105 - an OAuth error code
ACCESS_DENIED = "access_denied"

DESCRIPTIONS = {
    LOGIN_REQUIRED: "The person is not signed in to CIS, or signed in too long ago.",
    INTERACTION_REQUIRED: "The person must choose the role they are working in.",
}


def error_redirect(redirect_uri: str, error: str, *, state: str | None, iss: str) -> str:
    """The redirect_uri (already checked as registered) with an error response added."""
    params = {"error": error, "error_description": DESCRIPTIONS.get(error, error)}
    if state:
        params["state"] = state
    params["iss"] = iss
    parts = urlsplit(redirect_uri)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
