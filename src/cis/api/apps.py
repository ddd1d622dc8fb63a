"""Django app registration."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "cis.api"
    label = "api"
