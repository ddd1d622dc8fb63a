"""Production: secrets from the environment, secure cookies, and never the persona sign-in."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import CIS_BASE_URL, DATABASES, OAUTH2_PROVIDER, SQLITE, sqlite_options

if not os.environ.get("CIS_SECRET_KEY"):
    raise ImproperlyConfigured("CIS_SECRET_KEY must be set in production")

DEBUG = False
# Deliberately not read from the environment: the demo persona sign-in cannot be enabled here.
CIS_DEMO_LOGIN = False
CIS_REQUIRE_SIGNIN_SESSION = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
# NHS domains are on the browsers' HSTS preload list; a deployment elsewhere that cannot commit
# every subdomain to HTTPS sets CIS_HSTS_PRELOAD=0 (and `cis check --deploy` then says so).
SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("CIS_HSTS_PRELOAD", "1") == "1"
SECURE_HSTS_PRELOAD = SECURE_HSTS_INCLUDE_SUBDOMAINS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Plain HTTP is sent to HTTPS, except what must answer over HTTP: probes and scrapes from inside
# (healthz, readyz, metrics), and CRLs and OCSP, which relying parties fetch over HTTP (a TLS
# check of the server's own certificate cannot depend on them being reachable over TLS).
SECURE_SSL_REDIRECT = True
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$", r"^pki/"]
# RFC 9700 §2.1: relying parties' redirect URIs must be https in production.
OAUTH2_PROVIDER = {
    **OAUTH2_PROVIDER,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
}
# A fixed issuer: never one built from the Host a request arrived with.
CIS_OIDC_ISSUER = os.environ.get("CIS_OIDC_ISSUER", "").rstrip("/") or CIS_BASE_URL
OAUTH2_PROVIDER["OIDC_ISS_ENDPOINT"] = CIS_OIDC_ISSUER
if SQLITE:
    # An acknowledged change survives a power cut: the WAL is synced at every commit.
    DATABASES["default"]["OPTIONS"] = sqlite_options("FULL")
