"""Django app registration."""

from django.apps import AppConfig


class SmartcardsConfig(AppConfig):
    name = "cis.smartcards"
    label = "smartcards"
