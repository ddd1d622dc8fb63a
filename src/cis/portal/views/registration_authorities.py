"""Registration Authorities: who they are and how to reach them (everyone), and their upkeep."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from cis.authz.actions import Action
from cis.authz.policy import can, require
from cis.organisations.models import OrganisationStatus, RegistrationAuthority
from cis.organisations.selectors import ra_get, ra_list
from cis.organisations.services import ra_create, ra_update
from cis.portal.forms.registration_authorities import (
    RegistrationAuthorityForm,
    RegistrationAuthorityUpdateForm,
)

from .base import PortalPage, ServiceFormView


class RegistrationAuthorityListView(PortalPage):
    template_name = "portal/registration_authorities/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(ras=ra_list().order_by("name"), may_create=can(self.actor, Action.RA_MANAGE))
        return context


class RegistrationAuthorityDetailView(PortalPage):
    template_name = "portal/registration_authorities/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        ra = ra_get(code=self.kwargs["code"])
        context.update(
            ra=ra,
            organisations_served=ra.organisations.filter(status=OrganisationStatus.OPEN).count(),
            may_update=can(self.actor, Action.RA_MANAGE, ra),
        )
        return context


class RegistrationAuthorityCreateView(ServiceFormView[RegistrationAuthorityForm]):
    form_class = RegistrationAuthorityForm
    heading = "Add a Registration Authority"
    submit_label = "Add the RA"

    def check_may_act(self) -> None:
        require(self.actor, Action.RA_MANAGE)

    def back_url(self) -> str:
        return reverse("portal:ra-list")

    def perform(self, form: RegistrationAuthorityForm) -> RegistrationAuthority:
        data = form.cleaned_data
        return ra_create(
            actor=self.actor,
            code=data["code"],
            name=data["name"],
            email=data["email"],
            phone=data["phone"],
            hours=data["hours"],
            address=data["address"],
            geographies=form.geography_list(),
        )

    def success_message(self, result: RegistrationAuthority) -> str:
        return f"{result} has been added."

    def success_url_for(self, result: RegistrationAuthority) -> str:
        return reverse("portal:ra-detail", args=[result.code])


class RegistrationAuthorityUpdateView(ServiceFormView[RegistrationAuthorityUpdateForm]):
    form_class = RegistrationAuthorityUpdateForm
    heading = "Change the RA's details and area"
    submit_label = "Save the changes"

    @property
    def ra(self) -> RegistrationAuthority:
        return ra_get(code=self.kwargs["code"])

    def check_may_act(self) -> None:
        require(self.actor, Action.RA_MANAGE, self.ra)

    def get_initial(self) -> dict[str, Any]:
        ra = self.ra
        return {
            "name": ra.name,
            "email": ra.email,
            "phone": ra.phone,
            "hours": ra.hours,
            "address": ra.address,
            "geographies": ", ".join(ra.geographies),
        }

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("caption", str(self.ra))
        return super().get_context_data(**kwargs)

    def back_url(self) -> str:
        return reverse("portal:ra-detail", args=[self.kwargs["code"]])

    def perform(self, form: RegistrationAuthorityUpdateForm) -> RegistrationAuthority:
        data = form.cleaned_data
        return ra_update(
            actor=self.actor,
            ra=self.ra,
            name=data["name"],
            email=data["email"],
            phone=data["phone"],
            hours=data["hours"],
            address=data["address"],
            geographies=form.geography_list(),
            reassign=data["reassign"],
        )

    def success_message(self, result: RegistrationAuthority) -> str:
        return f"{result}'s details have been saved."

    def success_url_for(self, result: RegistrationAuthority) -> str:
        return self.back_url()
