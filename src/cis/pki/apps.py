"""Django app registration for the certificate authority."""

from django.apps import AppConfig


class PkiConfig(AppConfig):
    name = "cis.pki"
    label = "pki"
    verbose_name = "Certificate authority"

    def ready(self) -> None:
        from . import config  # noqa: F401, PLC0415 - registers the settings check
