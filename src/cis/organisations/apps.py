"""Django app registration for organisations and Registration Authorities."""

from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "cis.organisations"
    label = "organisations"
