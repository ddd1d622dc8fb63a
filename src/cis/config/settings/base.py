"""Settings shared by every deployment; everything that varies comes from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

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
    "cis.portal",
    "cis.api",
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
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
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

# The persona sign-in exists only for the demo; production settings can never turn it on.
CIS_DEMO_LOGIN = False

REST_FRAMEWORK = {
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
}

CACHES = {
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
