"""Django app registration."""

from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "cis.notify"
    label = "notify"
