"""Production: secrets from the environment, secure cookies, and never the persona sign-in."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403

if not os.environ.get("CIS_SECRET_KEY"):
    raise ImproperlyConfigured("CIS_SECRET_KEY must be set in production")

DEBUG = False
# Deliberately not read from the environment: the demo persona sign-in cannot be enabled here.
CIS_DEMO_LOGIN = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
