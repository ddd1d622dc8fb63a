"""Django app registration."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "cis.portal"
    label = "portal"
