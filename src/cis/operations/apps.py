"""Django app registration for running CIS: backups and restores."""

from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "cis.operations"
    label = "operations"
