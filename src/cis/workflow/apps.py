"""Django app registration."""

from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "cis.workflow"
    label = "workflow"
    verbose_name = "Requests and approvals"
