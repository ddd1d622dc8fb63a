"""The error codes in CIS's JSON error answers (`{"error": code, ...}`) that the agent acts on."""

from __future__ import annotations

# A one-time code that is not the one sent; the attempt counted (cis.core.errors.WrongCode).
WRONG_CODE = "wrong_code"

# No credentials, or credentials refused (Django REST framework's own codes, on 401 and 403).
NOT_AUTHENTICATED = "not_authenticated"
AUTHENTICATION_FAILED = "authentication_failed"
SIGNED_OUT = (NOT_AUTHENTICATED, AUTHENTICATION_FAILED)
