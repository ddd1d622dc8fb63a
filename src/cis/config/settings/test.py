"""The test suite: fast hashing, in-memory mail, persona sign-in for portal tests."""

from __future__ import annotations

from .base import *  # noqa: F403

CIS_DEMO_LOGIN = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CIS_SMS_BACKEND = "cis.notify.sms.MemorySmsSender"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ALLOWED_HOSTS = ["*"]
