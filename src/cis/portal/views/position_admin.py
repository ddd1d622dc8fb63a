"""A position's page, and creating, changing and retiring positions (RA Agent Advanced)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.http import HttpRequest
from django.urls import reverse

from cis.authz.actions import Action
from cis.authz.policy import can, require
from cis.organisations.models import Organisation
from cis.organisations.selectors import organisation_get
from cis.portal.forms.base import PortalForm
from cis.portal.forms.organisations import (
    OrganisationReasonForm,
    PositionCreateForm,
    PositionUpdateForm,
)
from cis.rbac.models import Position, PositionStatus
from cis.rbac.selectors import assignment_list, catalogue_list, position_get
from cis.rbac.services import position_create, position_retire, position_update

from .base import PortalPage, ServiceFormView

F = TypeVar("F", bound=PortalForm)


class _AtOrganisation:
    """The organisation in the URL, visible to the actor (404 otherwise)."""

    kwargs: dict[str, Any]
    actor: Any
    _organisation: Organisation | None = None

    @property
    def organisation(self) -> Organisation:
        if self._organisation is None:
            self._organisation = organisation_get(
                actor=self.actor, ods_code=self.kwargs["ods_code"]
            )
        return self._organisation

    def position_in_url(self) -> Position:
        return position_get(actor=self.actor, pk=self.kwargs["pk"], organisation=self.organisation)


def _choices(actor: Any, position: Position | None) -> tuple[Any, Any]:
    """The roles and activities a form offers: those in use, and any the position already has."""
    roles = list(catalogue_list(actor=actor, kind="job_role"))
    activities = list(catalogue_list(actor=actor, kind="activity"))
    if position is not None:
        held_roles = {r.code for r in roles}
        roles += [r for r in position.job_roles.all() if r.code not in held_roles]
        held_activities = {a.code for a in activities}
        activities += [a for a in position.activities.all() if a.code not in held_activities]
    return roles, activities


class PositionDetailView(_AtOrganisation, PortalPage):
    template_name = "portal/positions/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        position = self.position_in_url()
        roles = list(position.job_roles.all())
        baseline = {a.code for r in roles for a in r.baseline_activities.all()}
        context.update(
            organisation=self.organisation,
            position=position,
            roles=roles,
            activities=[(a, a.code in baseline) for a in position.activities.all()],
            holders=assignment_list(actor=self.actor, current_only=True)
            .filter(position=position)
            .order_by("person__family_name", "person__given_name"),
            may_update=position.status == PositionStatus.ACTIVE
            and can(self.actor, Action.POSITION_UPDATE, position),
            may_retire=position.status == PositionStatus.ACTIVE
            and can(self.actor, Action.POSITION_RETIRE, position),
        )
        return context


class PositionCreateView(_AtOrganisation, ServiceFormView[PositionCreateForm]):
    template_name = "portal/organisations/position_create.html"
    form_class = PositionCreateForm
    heading = "Create a position"
    submit_label = "Create the position"

    def check_may_act(self) -> None:
        require(self.actor, Action.POSITION_CREATE, self.organisation)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["roles"], kwargs["activities"] = _choices(self.actor, None)
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
        return reverse("portal:position-detail", args=[self.organisation.ods_code, result.pk])


class _PositionFormView(_AtOrganisation, ServiceFormView[F]):
    action: Action

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self._position: Position | None = None

    @property
    def position(self) -> Position:
        if self._position is None:
            self._position = self.position_in_url()
        return self._position

    def check_may_act(self) -> None:
        require(self.actor, self.action, self.position)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("caption", f"{self.position.name} at {self.organisation.name}")
        kwargs["position"] = self.position
        return super().get_context_data(**kwargs)

    def back_url(self) -> str:
        return reverse(
            "portal:position-detail", args=[self.organisation.ods_code, self.position.pk]
        )

    def success_url_for(self, result: Any) -> str:
        return self.back_url()


class PositionUpdateView(_PositionFormView[PositionUpdateForm]):
    action = Action.POSITION_UPDATE
    form_class = PositionUpdateForm
    heading = "Change the position"
    submit_label = "Save the changes"

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["roles"], kwargs["activities"] = _choices(self.actor, self.position)
        return kwargs

    def get_initial(self) -> dict[str, Any]:
        position = self.position
        return {
            "name": position.name,
            "job_roles": [r.code for r in position.job_roles.all()],
            "activities": [a.code for a in position.activities.all()],
            "workgroups": ", ".join(position.workgroups),
            "assignable": position.assignable,
        }

    def perform(self, form: PositionUpdateForm) -> Position:
        data = form.cleaned_data
        return position_update(
            actor=self.actor,
            position=self.position,
            name=data["name"],
            job_role_codes=data["job_roles"],
            activity_codes=data["activities"],
            workgroups=form.workgroup_list(),
            assignable=data["assignable"],
        )

    def success_message(self, result: Position) -> str:
        return f"The position '{result.name}' has been changed for everyone who holds it."


class PositionRetireView(_PositionFormView[OrganisationReasonForm]):
    action = Action.POSITION_RETIRE
    template_name = "portal/positions/retire.html"
    form_class = OrganisationReasonForm
    heading = "Retire the position"
    submit_label = "Retire it"
    button_class = "nhsuk-button--warning"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["holders"] = (
            assignment_list(actor=self.actor, current_only=True)
            .filter(position=self.position)
            .count()
        )
        return super().get_context_data(**kwargs)

    def perform(self, form: OrganisationReasonForm) -> Position:
        return position_retire(
            actor=self.actor, position=self.position, reason=form.cleaned_data["reason"]
        )

    def success_message(self, result: Position) -> str:
        return f"The position '{result.name}' is retired; nobody holds it any more."
