"""Settings shared by every deployment; everything that varies comes from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

from cis.core import logs

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
# `cis serve`'s defaults (its options override them): where it listens, gunicorn worker processes
# (one per core) and threads per worker, and whether it logs every request.
CIS_HOST = os.environ.get("CIS_HOST", "127.0.0.1")
CIS_PORT = int(os.environ.get("CIS_PORT", "8000"))
CIS_WORKERS = int(os.environ.get("CIS_WORKERS", "0")) or (os.cpu_count() or 2)
CIS_THREADS = int(os.environ.get("CIS_THREADS", "8"))
CIS_ACCESS_LOG = os.environ.get("CIS_ACCESS_LOG", "") in ("1", "true", "yes")

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
    "cis.imports",
    "cis.signin",
    "cis.oidc",
    "cis.reports",
    "cis.portal",
    "cis.api",
    "cis.demo",
    "cis.operations",
]

MIDDLEWARE = [
    "cis.ops.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # CSP, Permissions-Policy, and Cache-Control: no-store unless a view sets its own.
    "cis.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything that reads the database: time limits, and a quick 503 while it is down.
    "cis.core.middleware.DatabaseGuardMiddleware",
    # Reports and search on the replica, when there is one; before sessions, so that a session
    # saved at the end of a request counts as that request's write.
    "cis.core.dbrouting.ReplicaRoutingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cis.core.middleware.RequestContextMiddleware",
    "cis.signin.middleware.NetworkRestrictionMiddleware",
    "cis.signin.middleware.SignInSessionMiddleware",
    # Last, so it sees a view's exception first: domain errors and a lost database answered clearly.
    "cis.core.middleware.FaultMiddleware",
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


def sqlite_options(synchronous: str) -> dict[str, Any]:
    """SQLite's connection options; `synchronous` unless CIS_SQLITE_SYNCHRONOUS says otherwise.

    WAL and a busy timeout let the portal, jobs and the CLI share one SQLite file safely. The
    WAL is copied back into the database (a checkpoint, with two fsyncs) every 10,000 pages
    rather than SQLite's 1,000: a token grant dirties some 25 pages, so at the default every
    fortieth request paid for a checkpoint, a fifth of the grants' throughput.
    synchronous=NORMAL syncs the WAL only at those checkpoints: a crash of CIS loses nothing,
    but a power cut loses every commit since the last checkpoint. FULL syncs the WAL at every
    commit and loses nothing, for the cost of an fsync per commit (README "Reliability").
    """
    chosen = os.environ.get("CIS_SQLITE_SYNCHRONOUS", synchronous).upper()
    if chosen not in ("NORMAL", "FULL"):
        raise ValueError(f"CIS_SQLITE_SYNCHRONOUS must be NORMAL or FULL, not {chosen!r}")
    return {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            f"PRAGMA journal_mode=WAL; PRAGMA synchronous={chosen}; "
            "PRAGMA wal_autocheckpoint=10000;"
        ),
    }


# A silent or stopped PostgreSQL is a 503 within seconds, never a hang (cis.core.dbguard):
# connections give up after CIS_DB_CONNECT_TIMEOUT_SECONDS, and a web request's statements
# after CIS_DB_QUERY_TIMEOUT_SECONDS (commands, jobs and migrations are not limited).
CIS_DB_CONNECT_TIMEOUT_SECONDS = int(os.environ.get("CIS_DB_CONNECT_TIMEOUT_SECONDS", "3"))
CIS_DB_QUERY_TIMEOUT_SECONDS = float(os.environ.get("CIS_DB_QUERY_TIMEOUT_SECONDS", "3"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "cis.core.db.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = (
        CIS_DB_CONNECT_TIMEOUT_SECONDS
    )

# A PostgreSQL streaming replica of DATABASE_URL (README "How CIS grows"): when set, directory
# search and reports read from it, everything else (every write, and each client's reads after
# its own writes) on the primary; if it is down, they read from the primary (cis.core.dbrouting).
CIS_DATABASE_REPLICA_URL = os.environ.get("CIS_DATABASE_REPLICA_URL", "")
DATABASE_ROUTERS: list[str] = []
if CIS_DATABASE_REPLICA_URL:
    if DATABASES["default"]["ENGINE"] != "cis.core.db.postgresql":
        raise ValueError("CIS_DATABASE_REPLICA_URL needs DATABASE_URL on PostgreSQL too")
    DATABASES["replica"] = dj_database_url.parse(CIS_DATABASE_REPLICA_URL, conn_max_age=60)
    if DATABASES["replica"]["ENGINE"] != "django.db.backends.postgresql":
        raise ValueError("CIS_DATABASE_REPLICA_URL must be a postgres:// URL")
    DATABASES["replica"]["ENGINE"] = "cis.core.db.postgresql"
    DATABASES["replica"].setdefault("OPTIONS", {})["connect_timeout"] = (
        CIS_DB_CONNECT_TIMEOUT_SECONDS
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["cis.core.dbrouting.ReplicaRouter"]

SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if SQLITE:
    # The embedded default (the demo, one machine) trades a power cut's last commits for speed;
    # production settings make every acknowledged commit durable.
    DATABASES["default"]["OPTIONS"] = sqlite_options("NORMAL")
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
# The screenshots the browser tests take of each journey: the README shows them, and the help's
# step-by-step guides serve them (under /static/screenshots/) from the same files.
SCREENSHOTS_DIR = PROJECT_DIR / "docs" / "screenshots"
STATICFILES_DIRS = [
    (prefix, folder)
    for prefix, folder in (("nhsuk", NHSUK_FRONTEND_DIR), ("screenshots", SCREENSHOTS_DIR))
    if folder.exists()
]
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
CSRF_FAILURE_VIEW = "cis.portal.views.errors.csrf_failure"
X_FRAME_OPTIONS = "DENY"
# The Content-Security-Policy (cis.core.middleware) allows no inline script or style, and is
# enforced. Set to 1, browsers only report what it would block (Content-Security-Policy-Report-
# Only): for trying a change to a page, never for running CIS.
CIS_CSP_REPORT_ONLY = os.environ.get("CIS_CSP_REPORT_ONLY", "0") == "1"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]

# With no SMTP relay configured (CIS_EMAIL_HOST unset), email is written to files under the data
# directory, as SMS is, so a fresh install's `cis jobs run` delivers everything it owes.
EMAIL_BACKEND = os.environ.get(
    "CIS_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("CIS_EMAIL_HOST")
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = str(DATA_DIR / "mail")
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
# Each event is sealed (HMAC-SHA256) with a key in this key store, and checkpoints are signed
# there: "file" or "pkcs11" (the CA's token settings); empty, the CA's CIS_CA_KEY_STORE.
CIS_AUDIT_KEY_STORE = os.environ.get("CIS_AUDIT_KEY_STORE", "")
# A signed checkpoint of every chain's head every this many events of a chain, and when a
# process has written none for this many seconds (cis serve and `cis jobs run` write them too).
CIS_AUDIT_CHECKPOINT_EVERY = int(os.environ.get("CIS_AUDIT_CHECKPOINT_EVERY", "1000"))
CIS_AUDIT_CHECKPOINT_SECONDS = int(os.environ.get("CIS_AUDIT_CHECKPOINT_SECONDS", "300"))
# Where checkpoints are appended (default DATA_DIR/audit/checkpoints.jsonl), and optionally
# syslog too: a socket path (/dev/log) or host:port (UDP).
CIS_AUDIT_CHECKPOINT_FILE = os.environ.get("CIS_AUDIT_CHECKPOINT_FILE", "")
CIS_AUDIT_SYSLOG = os.environ.get("CIS_AUDIT_SYSLOG", "")
# /metrics answers only with "Authorization: Bearer <this>" when set (README "Running CIS").
CIS_METRICS_TOKEN = os.environ.get("CIS_METRICS_TOKEN", "")

# The persona sign-in exists only for the demo; production settings can never turn it on.
CIS_DEMO_LOGIN = False
# Production refuses any browser session that no sign-in (smartcard, security key, TLS client
# certificate) created, such as a Django login made some other way.
CIS_REQUIRE_SIGNIN_SESSION = False

REST_FRAMEWORK = {
    # Append the OAuth2 access-token class here for machine clients; the first class decides
    # whether anonymous calls get 403 (session) or 401 with WWW-Authenticate (bearer).
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "cis.api.v1.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": ["cis.api.v1.parsers.JsonBody"],
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
        "ImportStatusEnum": "cis.imports.models.ImportStatus",
        "ImportKindEnum": "cis.imports.models.ImportKind",
    },
}

CACHES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cis"}
}
if redis_url := os.environ.get("CIS_REDIS_URL"):
    CACHES["default"] = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url}

# Logs (cis.core.logs): one JSON object a line (or "text"), each with the request's
# correlation id, secrets taken out. Refusals (the policy's, failed sign-ins) are logged and
# audited, at most this many one by one per actor or client address a minute, then a summary.
CIS_LOG_FORMAT = os.environ.get("CIS_LOG_FORMAT", "json")
CIS_LOG_LEVEL = os.environ.get("CIS_LOG_LEVEL", "INFO")
CIS_REFUSALS_RECORDED_PER_MINUTE = int(os.environ.get("CIS_REFUSALS_RECORDED_PER_MINUTE", "10"))
LOGGING_CONFIG = "logging.config.dictConfig"
LOGGING = logs.logging_config(log_format=CIS_LOG_FORMAT, level=CIS_LOG_LEVEL)

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

# OIDC
# Sign-in and the identity provider (README "Sign-in and OpenID Connect"): sign-in sessions,
# network restriction, the TLS client-certificate path, WebAuthn, and django-oauth-toolkit with
# CIS's validator: code flow with PKCE S256 only, ES256 ID tokens, refresh token rotation.
CIS_OIDC_ISSUER = os.environ.get("CIS_OIDC_ISSUER", "").rstrip("/")  # empty: from the request
CIS_OIDC_KEY_PASSPHRASE = os.environ.get("CIS_OIDC_KEY_PASSPHRASE", "")  # empty: a 0600 file
# DPoP proofs must carry a nonce CIS gave (RFC 9449 §8, §9): a proof made ahead of time is then
# useless. Off by default: each client's first request costs a round trip to learn the nonce.
CIS_OIDC_DPOP_NONCE = os.environ.get("CIS_OIDC_DPOP_NONCE", "0") == "1"
CIS_SIGNIN_CHALLENGE_SECONDS = 60
# Sign-in throttles (cis.core.ratelimit, shared by every worker): challenges per client address
# (generous: an NHS site's workstations may share one address), answers per card.
CIS_SIGNIN_CHALLENGES_PER_MINUTE = int(os.environ.get("CIS_SIGNIN_CHALLENGES_PER_MINUTE", "300"))
CIS_SIGNIN_ANSWERS_PER_CARD_PER_MINUTE = int(
    os.environ.get("CIS_SIGNIN_ANSWERS_PER_CARD_PER_MINUTE", "10")
)
CIS_SIGNIN_IDLE_MINUTES = int(os.environ.get("CIS_SIGNIN_IDLE_MINUTES", "30"))
CIS_SIGNIN_ABSOLUTE_HOURS = int(os.environ.get("CIS_SIGNIN_ABSOLUTE_HOURS", "12"))
# End the session when the agent reports the card removed (or stops reporting): off by default.
CIS_SIGNIN_END_ON_CARD_REMOVAL = os.environ.get("CIS_SIGNIN_END_ON_CARD_REMOVAL", "0") == "1"
CIS_SIGNIN_HEARTBEAT_SECONDS = int(os.environ.get("CIS_SIGNIN_HEARTBEAT_SECONDS", "30"))
# The workstation agent's local service (cis-agent serve), which portal pages hand card tasks
# to; the PKCS#11 module workstations read cards with (for the commands the portal offers).
CIS_AGENT_URL = os.environ.get("CIS_AGENT_URL", "http://127.0.0.1:31505").rstrip("/")
CIS_AGENT_PKCS11_MODULE = os.environ.get(
    "CIS_AGENT_PKCS11_MODULE", "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
)
CIS_CARD_TASK_SECONDS = int(os.environ.get("CIS_CARD_TASK_SECONDS", "300"))
# The key that seals cards' SO PINs (cis.smartcards.envelope): 32 bytes, base64; empty means the
# one made on first use in $CIS_DATA_DIR/card-kek.key.
CIS_CARD_KEK = os.environ.get("CIS_CARD_KEK", "")
# Cards (DESIGN §3, §5; cis.smartcards.conf): passcode lengths, the renewal window, how long an
# agent has to finish a step it started (the SO PIN is out that long), the agent's sign-in.
CIS_PASSCODE_MIN_LENGTH = 4
CIS_PASSCODE_MAX_LENGTH = 8
CIS_RENEWAL_WINDOW_DAYS = 90
CIS_CARD_OPERATION_MINUTES = 15
CIS_AGENT_TOKEN_MINUTES = 30
# Networks the portal and sign-in accept (comma-separated CIDRs, as HSCN); empty: anywhere.
CIS_ALLOWED_NETWORKS = [
    n.strip() for n in os.environ.get("CIS_ALLOWED_NETWORKS", "").split(",") if n.strip()
]
# Paths that stay reachable from anywhere: relying parties' back channel and PKI clients, and
# the help that the network refusal page links to.
CIS_NETWORK_OPEN_PATHS = [
    "/healthz",
    "/.well-known/",
    "/oidc/token",
    "/oidc/jwks",
    "/oidc/userinfo",
    "/oidc/revoke",
    "/oidc/introspect",
    "/oidc/par",
    "/pki/",
    "/help/",
    "/cookies/",
    "/privacy/",
    "/accessibility/",
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
# Hardware authenticators (amr "hwk"): the AAGUIDs of the models a deployment trusts (comma-
# separated), and a PEM file of their vendors' attestation roots. A key is hardware only when its
# attestation chains to one of those roots and names an allowed AAGUID; any other is "swk", at
# most AAL2 whatever CIS_WEBAUTHN_ACR says.
CIS_WEBAUTHN_HARDWARE_AAGUIDS = frozenset(
    a.strip().lower()
    for a in os.environ.get("CIS_WEBAUTHN_HARDWARE_AAGUIDS", "").split(",")
    if a.strip()
)
CIS_WEBAUTHN_ATTESTATION_ROOTS = os.environ.get("CIS_WEBAUTHN_ATTESTATION_ROOTS", "")
# Named so migrations that point at the toolkit's (swappable) token model can resolve it.
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 - a model name
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
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
        "system": "System-to-system calls (a system client's own tokens)",
    },
    "DEFAULT_SCOPES": ["openid"],
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS": False,
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token", "client_credentials"],
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

# Workflow (README "Requests and approvals"): working days (England and Wales bank holidays
# excluded) before a request escalates. How many approvers a request needs is an approval
# policy the service desk sets (workflow.ApprovalPolicy), not a setting.
CIS_REQUEST_DUE_WORKING_DAYS = int(os.environ.get("CIS_REQUEST_DUE_WORKING_DAYS", "2"))
CIS_REQUEST_ESCALATION_WORKING_DAYS = int(
    os.environ.get("CIS_REQUEST_ESCALATION_WORKING_DAYS", "2")
)
CIS_REQUEST_EXPIRE_DAYS = int(os.environ.get("CIS_REQUEST_EXPIRE_DAYS", "90"))
