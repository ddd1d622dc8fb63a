"""Django app registration for sign-in."""

from django.apps import AppConfig


class SigninConfig(AppConfig):
    name = "cis.signin"
    label = "signin"
