"""Granting and revoking CIS rights from a person's page."""

from __future__ import annotations

from typing import Any

from cis.authz.actions import Action
from cis.authz.policy import require
from cis.core.errors import NotPermitted
from cis.organisations.selectors import organisation_list, ra_list
from cis.portal.forms.rights import RightGrantForm, RightRevokeForm
from cis.portal.offers import may_grant_some_right
from cis.rbac.selectors import assignment_list
from cis.rights.models import Right, RightGrant
from cis.rights.selectors import grant_get
from cis.rights.services import right_grant, right_revoke

from .subject import PersonFormView


class RightGrantView(PersonFormView[RightGrantForm]):
    action = Action.RIGHT_GRANT
    template_name = "portal/people/right_grant.html"
    form_class = RightGrantForm
    heading = "Grant a right"
    submit_label = "Grant the right"

    def check_may_act(self) -> None:
        current = list(assignment_list(actor=self.actor, person=self.person, current_only=True))
        if not may_grant_some_right(self.actor, self.person, current):
            raise NotPermitted("You cannot grant rights to this person.")

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["organisations"] = organisation_list(actor=self.actor)
        kwargs["ras"] = ra_list()
        return kwargs

    def perform(self, form: RightGrantForm) -> RightGrant:
        data = form.cleaned_data
        return right_grant(
            actor=self.actor,
            person=self.person,
            right=data["right"],
            organisation=data["organisation"],
            include_children=data["include_children"],
            ra=data["ra"],
            start_date=data["start_date"],
            end_date=data["end_date"],
        )

    def success_message(self, result: RightGrant) -> str:
        return (
            f"{self.person.full_name} now holds {Right(result.right).label} ({result.scope_label})."
        )


class RightRevokeView(PersonFormView[RightRevokeForm]):
    action = Action.RIGHT_REVOKE
    template_name = "portal/people/right_revoke.html"
    form_class = RightRevokeForm
    heading = "Revoke a right"
    submit_label = "Revoke the right"
    button_class = "nhsuk-button--warning"

    @property
    def grant(self) -> RightGrant:
        return grant_get(
            actor=self.actor, pk=self.kwargs["pk"], person=self.person, current_only=True
        )

    def check_may_act(self) -> None:
        require(self.actor, self.action, self.grant)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["grant"] = self.grant
        return super().get_context_data(**kwargs)

    def perform(self, form: RightRevokeForm) -> RightGrant:
        return right_revoke(actor=self.actor, grant=self.grant, reason=form.cleaned_data["reason"])

    def success_message(self, result: RightGrant) -> str:
        right = Right(result.right).label
        return f"{self.person.full_name} no longer holds {right} ({result.scope_label})."
