"""Django app registration."""

from django.apps import AppConfig


class AuthzConfig(AppConfig):
    name = "cis.authz"
    label = "authz"
