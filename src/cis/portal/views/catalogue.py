"""The national RBAC catalogue: everyone may read it; the service desk keeps it, in versions."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import Http404, HttpRequest
from django.urls import URLPattern, URLResolver, path, reverse

from cis.authz.actions import Action
from cis.authz.policy import can, require
from cis.portal.forms.catalogue import ActivityForm, CatalogueEntryForm, JobRoleForm
from cis.portal.forms.organisations import OrganisationReasonForm
from cis.rbac.catalogue import catalogue_entry_retire, catalogue_entry_save, current_version
from cis.rbac.selectors import catalogue_entry_get, catalogue_list, catalogue_versions

from .base import PortalPage, ServiceFormView

# URL segment -> the catalogue's kind of entry.
KIND_SLUGS = {"job-roles": "job_role", "activities": "activity", "areas-of-work": "area_of_work"}
TITLES = {"job_role": "Job roles", "activity": "Activities", "area_of_work": "Areas of work"}


def _kind(slug: str) -> str:
    if slug not in KIND_SLUGS:
        raise Http404("No such part of the catalogue.")
    return KIND_SLUGS[slug]


class CatalogueView(PortalPage):
    template_name = "portal/catalogue/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.request.GET.get("q", "")[:100]
        retired = self.request.GET.get("retired") == "1"
        version = current_version()
        context.update(
            query=query,
            show_retired=retired,
            roles=catalogue_list(
                actor=self.actor, kind="job_role", query=query, include_retired=retired
            ),
            activities=catalogue_list(
                actor=self.actor, kind="activity", query=query, include_retired=retired
            ),
            version=version,
            sources=version.sources if version else {},
            may_manage=can(self.actor, Action.CATALOGUE_MANAGE),
        )
        return context


class CatalogueEntryView(PortalPage):
    template_name = "portal/catalogue/entry.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        kind = _kind(self.kwargs["kind"])
        entry = catalogue_entry_get(actor=self.actor, kind=kind, code=self.kwargs["code"])
        version = current_version()
        sources = version.sources if version else {}
        context.update(
            kind=kind,
            slug=self.kwargs["kind"],
            entry=entry,
            cited=[(key, sources.get(key)) for key in entry.sources],
            may_manage=can(self.actor, Action.CATALOGUE_MANAGE),
        )
        return context


class CatalogueVersionsView(PortalPage):
    template_name = "portal/catalogue/versions.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["versions"] = catalogue_versions(actor=self.actor)[:100]
        return context


class _CatalogueFormView(ServiceFormView[CatalogueEntryForm]):
    editing: ClassVar[bool] = False

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self.kind = _kind(kwargs["kind"])

    def check_may_act(self) -> None:
        require(self.actor, Action.CATALOGUE_MANAGE)

    def get_form_class(self) -> type[CatalogueEntryForm]:
        return JobRoleForm if self.kind == "job_role" else ActivityForm

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["editing"] = self.editing
        kwargs["activities"] = [
            (a.code, f"{a.name} ({a.code})")
            for a in catalogue_list(actor=self.actor, kind="activity")
        ]
        return kwargs

    def back_url(self) -> str:
        return reverse("portal:catalogue")

    def perform(self, form: CatalogueEntryForm) -> Any:
        data = form.cleaned_data
        extra: dict[str, Any] = {}
        if isinstance(form, JobRoleForm):
            extra = {
                "sector_code": data["sector_code"],
                "sector_name": data["sector_name"],
                "group_code": data["group_code"],
                "group_name": data["group_name"],
                "baseline": data["baseline"],
            }
        elif isinstance(form, ActivityForm):
            extra = {"includes": data["includes"]}
        return catalogue_entry_save(
            actor=self.actor,
            kind=self.kind,
            code=self.kwargs.get("code") or data["code"],
            name=data["name"],
            note=data["note"],
            sources=form.source_list(),
            **extra,
        )

    def success_message(self, result: Any) -> str:
        return f"{result.code} {result.name} is saved in a new version of the catalogue."

    def success_url_for(self, result: Any) -> str:
        return reverse("portal:catalogue-entry", args=[self.kwargs["kind"], result.code])


class CatalogueEntryCreateView(_CatalogueFormView):
    submit_label = "Add it to the catalogue"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("heading", f"Add to the catalogue: {TITLES[self.kind].lower()}")
        return super().get_context_data(**kwargs)


class CatalogueEntryUpdateView(_CatalogueFormView):
    editing = True
    submit_label = "Save the changes"

    def get_initial(self) -> dict[str, Any]:
        entry = catalogue_entry_get(actor=self.actor, kind=self.kind, code=self.kwargs["code"])
        initial: dict[str, Any] = {
            "name": entry.name,
            "note": entry.note,
            "sources": ", ".join(entry.sources),
        }
        if self.kind == "job_role":
            initial.update(
                sector_code=entry.sector_code,
                sector_name=entry.sector_name,
                group_code=entry.group_code,
                group_name=entry.group_name,
                baseline=[a.code for a in entry.baseline_activities.all()],
            )
        if self.kind == "activity":
            initial["includes"] = [a.code for a in entry.includes.all()]
        return initial

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("heading", f"Change {self.kwargs['code'].upper()}")
        return super().get_context_data(**kwargs)

    def back_url(self) -> str:
        return reverse("portal:catalogue-entry", args=[self.kwargs["kind"], self.kwargs["code"]])


class CatalogueEntryRetireView(ServiceFormView[OrganisationReasonForm]):
    form_class = OrganisationReasonForm
    retire: ClassVar[bool] = True

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self.kind = _kind(kwargs["kind"])

    def check_may_act(self) -> None:
        require(self.actor, Action.CATALOGUE_MANAGE)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        entry = catalogue_entry_get(actor=self.actor, kind=self.kind, code=self.kwargs["code"])
        verb = "Retire" if self.retire else "Reinstate"
        kwargs.setdefault("heading", f"{verb} {entry.code} {entry.name}")
        kwargs.setdefault("submit_label", verb)
        kwargs["entry"] = entry
        kwargs["retiring"] = self.retire
        return super().get_context_data(**kwargs)

    template_name = "portal/catalogue/retire.html"

    def back_url(self) -> str:
        return reverse("portal:catalogue-entry", args=[self.kwargs["kind"], self.kwargs["code"]])

    def perform(self, form: OrganisationReasonForm) -> Any:
        return catalogue_entry_retire(
            actor=self.actor, kind=self.kind, code=self.kwargs["code"], retire=self.retire
        )

    def success_message(self, result: Any) -> str:
        done = "retired" if self.retire else "back in use"
        return f"{result.code} {result.name} is {done}."

    def success_url_for(self, result: Any) -> str:
        return self.back_url()


class CatalogueEntryReinstateView(CatalogueEntryRetireView):
    retire = False


routes: list[URLPattern | URLResolver] = [
    path(route, view.as_view(), name=name)
    for route, view, name in (
        ("catalogue/", CatalogueView, "catalogue"),
        ("catalogue/versions/", CatalogueVersionsView, "catalogue-versions"),
        ("catalogue/<str:kind>/new/", CatalogueEntryCreateView, "catalogue-entry-create"),
        ("catalogue/<str:kind>/<str:code>/", CatalogueEntryView, "catalogue-entry"),
        (
            "catalogue/<str:kind>/<str:code>/change/",
            CatalogueEntryUpdateView,
            "catalogue-entry-update",
        ),
        (
            "catalogue/<str:kind>/<str:code>/retire/",
            CatalogueEntryRetireView,
            "catalogue-entry-retire",
        ),
        (
            "catalogue/<str:kind>/<str:code>/reinstate/",
            CatalogueEntryReinstateView,
            "catalogue-entry-reinstate",
        ),
    )
]
