"""Django app registration for the directory imports (ODS organisations, ESR people)."""

from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "cis.imports"
    label = "imports"
