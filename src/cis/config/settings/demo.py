"""The demo: one machine, SQLite, persona sign-in, mail and SMS written to files."""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import DATA_DIR

DEBUG = False
CIS_DEMO_LOGIN = True
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = str(DATA_DIR / "mail")
CIS_SMS_BACKEND = "cis.notify.sms.FileSmsSender"
