"""Django app registration."""

from django.apps import AppConfig


class PkiConfig(AppConfig):
    name = "cis.pki"
    label = "pki"
