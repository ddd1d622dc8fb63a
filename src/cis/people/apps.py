"""Django app registration."""

from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "cis.people"
    label = "people"
