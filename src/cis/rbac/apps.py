"""Django app registration."""

from django.apps import AppConfig


class RbacConfig(AppConfig):
    name = "cis.rbac"
    label = "rbac"
