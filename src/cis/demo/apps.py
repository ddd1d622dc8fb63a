"""Django app registration, so that `cis demo` is found among the management commands."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "cis.demo"
    label = "demo"
