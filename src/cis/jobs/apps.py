"""Django app registration (for the `cis jobs` command)."""

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "cis.jobs"
    label = "jobs"
