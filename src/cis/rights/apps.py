"""Django app registration."""

from django.apps import AppConfig


class RightsConfig(AppConfig):
    name = "cis.rights"
    label = "rights"
