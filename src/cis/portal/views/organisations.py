"""An organisation's page, and creating organisations and the positions at them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from cis.authz.actions import Action
from cis.authz.policy import can, require
from cis.organisations.models import Organisation
from cis.organisations.selectors import organisation_get, organisation_list, ra_list
from cis.organisations.services import organisation_create
from cis.portal.forms.organisations import OrganisationCreateForm, PositionCreateForm
from cis.rbac.models import Position
from cis.rbac.selectors import (
    assignment_list,
    catalogue_activities,
    catalogue_roles,
    position_list,
)
from cis.rbac.services import position_create

from .base import PortalPage, ServiceFormView


class OrganisationDetailView(PortalPage):
    template_name = "portal/organisations/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        actor = self.actor
        org = organisation_get(actor=actor, ods_code=self.kwargs["ods_code"])
        context.update(
            organisation=org,
            parent_visible=org.parent_id is not None
            and organisation_list(actor=actor).filter(pk=org.parent_id).exists(),
            children=organisation_list(actor=actor).filter(parent=org),
            positions=position_list(actor=actor, organisation=org).order_by("name"),
            staff=assignment_list(actor=actor, organisation=org, current_only=True).order_by(
                "person__family_name", "person__given_name", "position__name"
            ),
            may_create_position=can(actor, Action.POSITION_CREATE, org),
        )
        return context


class OrganisationCreateView(ServiceFormView[OrganisationCreateForm]):
    template_name = "portal/organisations/create.html"
    form_class = OrganisationCreateForm
    heading = "Create an organisation"
    submit_label = "Create the organisation"

    def check_may_act(self) -> None:
        require(self.actor, Action.ORGANISATION_CREATE)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        allowed = [ra.pk for ra in ra_list() if can(self.actor, Action.ORGANISATION_CREATE, ra)]
        kwargs["ras"] = ra_list().filter(pk__in=allowed)
        kwargs["parents"] = organisation_list(actor=self.actor)
        return kwargs

    def back_url(self) -> str:
        return reverse("portal:organisation-list")

    def perform(self, form: OrganisationCreateForm) -> Organisation:
        data = form.cleaned_data
        return organisation_create(
            actor=self.actor,
            ods_code=data["ods_code"],
            name=data["name"],
            org_type=data["org_type"],
            serving_ra=data["serving_ra"],
            parent=data["parent"],
            address=data["address"],
        )

    def success_message(self, result: Organisation) -> str:
        return f"{result} has been created."

    def success_url_for(self, result: Organisation) -> str:
        return reverse("portal:organisation-detail", args=[result.ods_code])


class PositionCreateView(ServiceFormView[PositionCreateForm]):
    template_name = "portal/organisations/position_create.html"
    form_class = PositionCreateForm
    heading = "Create a position"
    submit_label = "Create the position"

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self._organisation: Organisation | None = None

    @property
    def organisation(self) -> Organisation:
        if self._organisation is None:
            self._organisation = organisation_get(
                actor=self.actor, ods_code=self.kwargs["ods_code"]
            )
        return self._organisation

    def check_may_act(self) -> None:
        require(self.actor, Action.POSITION_CREATE, self.organisation)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["roles"] = catalogue_roles()
        kwargs["activities"] = catalogue_activities()
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("caption", str(self.organisation))
        kwargs["organisation"] = self.organisation
        return super().get_context_data(**kwargs)

    def back_url(self) -> str:
        return reverse("portal:organisation-detail", args=[self.organisation.ods_code])

    def perform(self, form: PositionCreateForm) -> Position:
        data = form.cleaned_data
        return position_create(
            actor=self.actor,
            organisation=self.organisation,
            name=data["name"],
            job_role_codes=data["job_roles"],
            activity_codes=data["activities"],
            workgroups=form.workgroup_list(),
            assignable=data["assignable"],
        )

    def success_message(self, result: Position) -> str:
        return f"The position '{result.name}' has been created at {self.organisation.name}."

    def success_url_for(self, result: Position) -> str:
        return self.back_url()
