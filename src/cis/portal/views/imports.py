"""Imports for the service desk: upload an ODS or ESR file, follow it, read its report."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, path, reverse

from cis.authz.actions import Action
from cis.authz.policy import require
from cis.imports.models import ImportRun
from cis.imports.selectors import import_get, import_list
from cis.imports.services import import_submit
from cis.organisations.selectors import ra_list
from cis.portal.forms.imports import ImportForm

from .base import PortalPage, ServiceFormView


class ImportListView(PortalPage):
    template_name = "portal/imports/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["runs"] = import_list(actor=self.actor)[:50]
        return context


class ImportDetailView(PortalPage):
    template_name = "portal/imports/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["run"] = import_get(actor=self.actor, run_id=kwargs["run_id"])
        context["back_url"] = reverse("portal:imports")
        return context


class ImportCreateView(ServiceFormView[ImportForm]):
    form_class = ImportForm
    heading = "Import a file"
    caption = "Imports"
    submit_label = "Queue the import"

    def check_may_act(self) -> None:
        require(self.actor, Action.IMPORT_RUN)

    def back_url(self) -> str:
        return reverse("portal:imports")

    def perform(self, form: ImportForm) -> ImportRun:
        upload = form.cleaned_data["file"]
        code = form.cleaned_data["ra"]
        return import_submit(
            actor=self.actor,
            kind=form.cleaned_data["kind"],
            data=upload.read(),
            filename=upload.name or "",
            layout=form.cleaned_data["layout"],
            partial=form.cleaned_data["partial"],
            default_ra=ra_list().filter(code=code).first() if code else None,
        )

    def success_message(self, result: ImportRun) -> str:
        return (
            f"{result.filename or 'The file'} is queued as import {result.pk}; the jobs runner "
            "processes it within minutes. This page shows its report when it is done."
        )

    def success_url_for(self, result: ImportRun) -> str:
        return reverse("portal:import-detail", args=[result.pk])


routes: list[URLPattern | URLResolver] = [
    path("imports/", ImportListView.as_view(), name="imports"),
    path("imports/new/", ImportCreateView.as_view(), name="import-create"),
    path("imports/<int:run_id>/", ImportDetailView.as_view(), name="import-detail"),
]
