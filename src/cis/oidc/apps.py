"""Django app registration for the OpenID Connect provider."""

from django.apps import AppConfig


class OidcConfig(AppConfig):
    name = "cis.oidc"
    label = "oidc"
