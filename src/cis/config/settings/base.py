"""Settings shared by every deployment; everything that varies comes from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

SRC_DIR = Path(__file__).resolve().parents[3]
PROJECT_DIR = SRC_DIR.parent

DATA_DIR = Path(os.environ.get("CIS_DATA_DIR", "./var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """CIS_SECRET_KEY, or one generated per data directory, so two installs never share it."""
    if key := os.environ.get("CIS_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = False
ALLOWED_HOSTS = [
    h for h in os.environ.get("CIS_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CIS_BASE_URL = os.environ.get("CIS_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "oauth2_provider",
    "cis.core",
    "cis.audit",
    "cis.organisations",
    "cis.rbac",
    "cis.people",
    "cis.rights",
    "cis.authz",
    "cis.notify",
    "cis.pki",
    "cis.smartcards",
    "cis.workflow",
    "cis.jobs",
    "cis.signin",
    "cis.oidc",
    "cis.portal",
    "cis.api",
    "cis.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cis.core.middleware.RequestContextMiddleware",
    "cis.signin.middleware.NetworkRestrictionMiddleware",
    "cis.signin.middleware.SignInSessionMiddleware",
]

ROOT_URLCONF = "cis.config.urls"
WSGI_APPLICATION = "cis.config.wsgi.application"
AUTH_USER_MODEL = "people.Person"
LOGIN_URL = "portal:sign-in"
LOGIN_REDIRECT_URL = "portal:home"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'cis.sqlite3'}"),
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the portal, jobs and the CLI share one SQLite file safely.
    # The WAL is copied back into the database (a checkpoint, with two fsyncs) every 10,000
    # pages rather than SQLite's 1,000: a token grant dirties some 25 pages, so at the default
    # every fortieth request paid for a checkpoint, a fifth of the grants' throughput.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=10000;"
        ),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cis.portal.context.portal",
            ],
        },
    },
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
NHSUK_FRONTEND_DIR = PROJECT_DIR / "node_modules" / "nhsuk-frontend" / "dist"
STATICFILES_DIRS = [("nhsuk", NHSUK_FRONTEND_DIR)] if NHSUK_FRONTEND_DIR.exists() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]

EMAIL_BACKEND = os.environ.get("CIS_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("CIS_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("CIS_EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("CIS_EMAIL_FROM", "Care Identity Service <cis@localhost>")

# SMS: "file" writes messages under the data directory; "notify" calls GOV.UK Notify.
CIS_SMS_BACKEND = os.environ.get("CIS_SMS_BACKEND", "cis.notify.sms.FileSmsSender")
CIS_NOTIFY_API_KEY = os.environ.get("CIS_NOTIFY_API_KEY", "")
CIS_NOTIFY_SMS_TEMPLATE_ID = os.environ.get("CIS_NOTIFY_SMS_TEMPLATE_ID", "")
CIS_NOTIFY_BASE_URL = os.environ.get(
    "CIS_NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk"
)

# One-time codes (contact verification and self-unlock).
CIS_OTP_DIGITS = 6
CIS_OTP_LIFETIME_SECONDS = 15 * 60
CIS_OTP_MAX_ATTEMPTS = 5
CIS_OTP_MAX_PER_HOUR = 5

# Audit events are hash-chained in this many parallel chains on PostgreSQL, so that concurrent
# changes do not queue one behind another's commit; SQLite, one writer at a time, uses one.
CIS_AUDIT_CHAINS = int(os.environ.get("CIS_AUDIT_CHAINS", "8"))

# The persona sign-in exists only for the demo; production settings can never turn it on.
CIS_DEMO_LOGIN = False

REST_FRAMEWORK = {
    # Append the OAuth2 access-token class here for machine clients; the first class decides
    # whether anonymous calls get 403 (session) or 401 with WWW-Authenticate (bearer).
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "cis.api.v1.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Care Identity Service API",
    "DESCRIPTION": "People, organisations, positions, cards and certificates, under one policy.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets that share a field name ("status") need a name each; add new domains' here.
    "ENUM_NAME_OVERRIDES": {
        "PersonStatusEnum": "cis.people.models.PersonStatus",
        "OrganisationStatusEnum": "cis.organisations.models.OrganisationStatus",
        "PositionStatusEnum": "cis.rbac.models.PositionStatus",
        "ContactChannelEnum": "cis.people.models.ContactChannel",
        "PersonKindEnum": "cis.people.models.PersonKind",
        "RequestEventKindEnum": "cis.workflow.states.EventKind",
        "EscalationLevelEnum": "cis.workflow.states.EscalationLevel",
    },
}

CACHES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cis"}
}
if redis_url := os.environ.get("CIS_REDIS_URL"):
    CACHES["default"] = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CIS_LOG_LEVEL", "INFO")},
}

# PKI
# The certificate authority (README "Certificate authority"): key algorithm and store, lifetimes,
# and the base URL written into certificates for the CRL and OCSP. Nothing here is key material
# except the optional passphrase and PIN, which come only from the environment.
# ec-p256 (default), ec-p384, rsa-2048 or rsa-3072
CIS_CA_KEY_ALGORITHM = os.environ.get("CIS_CA_KEY_ALGORITHM", "ec-p256")
CIS_CA_KEY_STORE = os.environ.get("CIS_CA_KEY_STORE", "file")  # or "pkcs11"
# Empty: a random passphrase kept in DATA_DIR/ca/key-passphrase (mode 0600).
CIS_CA_KEY_PASSPHRASE = os.environ.get("CIS_CA_KEY_PASSPHRASE", "")
CIS_CA_PKCS11_MODULE = os.environ.get("CIS_CA_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
CIS_CA_PKCS11_TOKEN_LABEL = os.environ.get("CIS_CA_PKCS11_TOKEN_LABEL", "")
CIS_CA_PKCS11_PIN = os.environ.get("CIS_CA_PKCS11_PIN", "")
CIS_CA_ORGANISATION = os.environ.get("CIS_CA_ORGANISATION", "Care Identity Service")
CIS_PKI_BASE_URL = os.environ.get("CIS_PKI_BASE_URL", CIS_BASE_URL).rstrip("/")
CIS_CERT_VALIDITY_DAYS = int(os.environ.get("CIS_CERT_VALIDITY_DAYS", "730"))  # at most 1095
CIS_CRL_LIFETIME_HOURS = int(os.environ.get("CIS_CRL_LIFETIME_HOURS", "72"))  # at most 168
CIS_CRL_REPUBLISH_HOURS = int(os.environ.get("CIS_CRL_REPUBLISH_HOURS", "24"))
CIS_OCSP_VALIDITY_HOURS = int(os.environ.get("CIS_OCSP_VALIDITY_HOURS", "24"))  # 8 to 240
CIS_OCSP_SIGNER_VALIDITY_DAYS = int(os.environ.get("CIS_OCSP_SIGNER_VALIDITY_DAYS", "30"))
CIS_OCSP_ECHO_NONCE = os.environ.get("CIS_OCSP_ECHO_NONCE", "1") == "1"
# Precomputed OCSP responses: shared through Redis when configured, else per process.
CACHES["pki"] = (
    {**CACHES["default"], "KEY_PREFIX": "pki"}
    if os.environ.get("CIS_REDIS_URL")
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "cis-pki",
        "OPTIONS": {"MAX_ENTRIES": 200_000},
    }
)

# OIDC
# Sign-in and the identity provider (README "Sign-in and OpenID Connect"): sign-in sessions,
# network restriction, the TLS client-certificate path, WebAuthn, and django-oauth-toolkit with
# CIS's validator: code flow with PKCE S256 only, ES256 ID tokens, refresh token rotation.
CIS_OIDC_ISSUER = os.environ.get("CIS_OIDC_ISSUER", "").rstrip("/")  # empty: from the request
CIS_OIDC_KEY_PASSPHRASE = os.environ.get("CIS_OIDC_KEY_PASSPHRASE", "")  # empty: a 0600 file
CIS_SIGNIN_CHALLENGE_SECONDS = 60
CIS_SIGNIN_IDLE_MINUTES = int(os.environ.get("CIS_SIGNIN_IDLE_MINUTES", "30"))
CIS_SIGNIN_ABSOLUTE_HOURS = int(os.environ.get("CIS_SIGNIN_ABSOLUTE_HOURS", "12"))
# End the session when the agent reports the card removed (or stops reporting): off by default.
CIS_SIGNIN_END_ON_CARD_REMOVAL = os.environ.get("CIS_SIGNIN_END_ON_CARD_REMOVAL", "0") == "1"
CIS_SIGNIN_HEARTBEAT_SECONDS = int(os.environ.get("CIS_SIGNIN_HEARTBEAT_SECONDS", "30"))
# Networks the portal and sign-in accept (comma-separated CIDRs, as HSCN); empty: anywhere.
CIS_ALLOWED_NETWORKS = [
    n.strip() for n in os.environ.get("CIS_ALLOWED_NETWORKS", "").split(",") if n.strip()
]
# Paths that stay reachable from anywhere: relying parties' back channel and PKI clients.
CIS_NETWORK_OPEN_PATHS = [
    "/healthz",
    "/.well-known/",
    "/oidc/token",
    "/oidc/jwks",
    "/oidc/userinfo",
    "/oidc/revoke",
    "/pki/",
]
# TLS client certificates through a trusted reverse proxy (README): off unless both are set.
CIS_TLS_CLIENT_CERT_HEADER = os.environ.get("CIS_TLS_CLIENT_CERT_HEADER", "")  # X-SSL-Client-Cert
CIS_TRUSTED_PROXIES = [
    n.strip() for n in os.environ.get("CIS_TRUSTED_PROXIES", "").split(",") if n.strip()
]
CIS_WEBAUTHN_RP_ID = os.environ.get("CIS_WEBAUTHN_RP_ID", "")  # empty: the request's host
CIS_WEBAUTHN_RP_NAME = "Care Identity Service"
# The assurance policy gives a security key with user verification (AAL3 needs a hardware-
# protected, verifier-impersonation-resistant authenticator: a deployment may say so).
CIS_WEBAUTHN_ACR = os.environ.get("CIS_WEBAUTHN_ACR", "AAL2")
# Named so migrations that point at the toolkit's (swappable) token model can resolve it.
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 - a model name
OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "cis.oidc.validator.CisValidator",
    "OIDC_ISS_ENDPOINT": CIS_OIDC_ISSUER,
    "OIDC_ENABLED": True,
    "PKCE_REQUIRED": True,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 15 * 60,
    "ID_TOKEN_EXPIRE_SECONDS": 15 * 60,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 12 * 60 * 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # 256 random bits in one read, not oauthlib's SystemRandom call per character.
    "ACCESS_TOKEN_GENERATOR": "cis.oidc.validator.random_token",
    "REFRESH_TOKEN_GENERATOR": "cis.oidc.validator.random_token",
    "SCOPES": {
        "openid": "Sign you in",
        "profile": "Your name",
        "email": "Your email address",
        "nhsperson": "Your user id, name and identity assurance level",
        "associatedorgs": "The organisations where you hold a role",
        "nationalrbacaccess": "Your roles and their activities",
        "selectedrole": "The role you are working in",
    },
    "DEFAULT_SCOPES": ["openid"],
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS": False,
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
    "REQUEST_APPROVAL_PROMPT": "auto",
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

# Workflow (README "Requests and approvals"): request types that need a second approver, and
# working days (England and Wales bank holidays excluded) before a request escalates.
CIS_REQUEST_SECOND_APPROVER_TYPES = [
    t for t in os.environ.get("CIS_REQUEST_SECOND_APPROVER_TYPES", "").split(",") if t
]
CIS_REQUEST_DUE_WORKING_DAYS = int(os.environ.get("CIS_REQUEST_DUE_WORKING_DAYS", "2"))
CIS_REQUEST_ESCALATION_WORKING_DAYS = int(
    os.environ.get("CIS_REQUEST_ESCALATION_WORKING_DAYS", "2")
)
CIS_REQUEST_EXPIRE_DAYS = int(os.environ.get("CIS_REQUEST_EXPIRE_DAYS", "90"))
