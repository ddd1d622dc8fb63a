"""Django app registration."""

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "cis.reports"
    label = "reports"
