"""Django app registration for the shared core."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "cis.core"
    label = "core"
