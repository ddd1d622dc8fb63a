"""An organisation's page, and creating organisations and the positions at them."""

from __future__ import annotations

from typing import Any, TypeVar

from django.http import HttpRequest
from django.urls import reverse

from cis.authz.actions import Action
from cis.authz.policy import can, require
from cis.organisations.models import Organisation
from cis.organisations.selectors import organisation_get, organisation_list, ra_list
from cis.organisations.services import (
    organisation_close,
    organisation_create,
    organisation_move,
    organisation_reopen,
    organisation_update,
)
from cis.portal.forms.base import PortalForm
from cis.portal.forms.organisations import (
    OrganisationCreateForm,
    OrganisationMoveForm,
    OrganisationReasonForm,
    OrganisationUpdateForm,
)
from cis.rbac.selectors import assignment_list, position_list

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
            may_create_position=org.is_open and can(actor, Action.POSITION_CREATE, org),
            may_update=can(actor, Action.ORGANISATION_UPDATE, org),
            may_move=can(actor, Action.ORGANISATION_MOVE, org),
            may_close=org.is_open and can(actor, Action.ORGANISATION_CLOSE, org),
            may_reopen=not org.is_open and can(actor, Action.ORGANISATION_REOPEN, org),
        )
        return context


F = TypeVar("F", bound=PortalForm)


class OrganisationFormView(ServiceFormView[F]):
    """A form about one organisation, which must be visible to the actor (404 otherwise)."""

    action: Action

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
        require(self.actor, self.action, self.organisation)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("caption", str(self.organisation))
        kwargs["organisation"] = self.organisation
        return super().get_context_data(**kwargs)

    def back_url(self) -> str:
        return reverse("portal:organisation-detail", args=[self.organisation.ods_code])

    def success_url_for(self, result: Any) -> str:
        return self.back_url()


class OrganisationUpdateView(OrganisationFormView[OrganisationUpdateForm]):
    action = Action.ORGANISATION_UPDATE
    form_class = OrganisationUpdateForm
    heading = "Change the organisation's details"
    submit_label = "Save the changes"

    def get_initial(self) -> dict[str, Any]:
        org = self.organisation
        return {"name": org.name, "address": org.address, "geography": org.geography}

    def perform(self, form: OrganisationUpdateForm) -> Organisation:
        data = form.cleaned_data
        return organisation_update(
            actor=self.actor,
            organisation=self.organisation,
            name=data["name"],
            address=data["address"],
            geography=data["geography"],
        )

    def success_message(self, result: Organisation) -> str:
        return f"{result}'s details have been changed."


class OrganisationMoveView(OrganisationFormView[OrganisationMoveForm]):
    action = Action.ORGANISATION_MOVE
    form_class = OrganisationMoveForm
    heading = "Move the organisation"
    submit_label = "Move it"

    def get_initial(self) -> dict[str, Any]:
        return {"parent": self.organisation.parent}

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        org = self.organisation
        kwargs["parents"] = (
            organisation_list(actor=self.actor).filter(status="open").exclude(pk=org.pk)
        )
        may_change_ra = can(self.actor, Action.RA_MANAGE)
        kwargs["ras"] = ra_list().exclude(pk=org.serving_ra_id) if may_change_ra else None
        return kwargs

    def perform(self, form: OrganisationMoveForm) -> Organisation:
        data = form.cleaned_data
        return organisation_move(
            actor=self.actor,
            organisation=self.organisation,
            parent=data["parent"],
            serving_ra=data.get("serving_ra"),
        )

    def success_message(self, result: Organisation) -> str:
        where = f"part of {result.parent}" if result.parent else "on its own"
        return f"{result} is now {where}, served by {result.serving_ra}."


class OrganisationCloseView(OrganisationFormView[OrganisationReasonForm]):
    action = Action.ORGANISATION_CLOSE
    template_name = "portal/organisations/close.html"
    form_class = OrganisationReasonForm
    heading = "Close the organisation"
    submit_label = "Close it"
    button_class = "nhsuk-button--warning"

    def perform(self, form: OrganisationReasonForm) -> Organisation:
        return organisation_close(
            actor=self.actor, organisation=self.organisation, reason=form.cleaned_data["reason"]
        )

    def success_message(self, result: Organisation) -> str:
        return f"{result} is closed."


class OrganisationReopenView(OrganisationFormView[OrganisationReasonForm]):
    action = Action.ORGANISATION_REOPEN
    template_name = "portal/organisations/reopen.html"
    form_class = OrganisationReasonForm
    heading = "Reopen the organisation"
    submit_label = "Reopen it"

    def perform(self, form: OrganisationReasonForm) -> Organisation:
        return organisation_reopen(
            actor=self.actor, organisation=self.organisation, reason=form.cleaned_data["reason"]
        )

    def success_message(self, result: Organisation) -> str:
        return f"{result} is open again."


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
