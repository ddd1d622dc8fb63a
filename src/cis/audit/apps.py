"""Django app registration."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "cis.audit"
    label = "audit"
