"""Giving a person a position, and ending one."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from cis.authz.actions import Action
from cis.authz.policy import require
from cis.core.errors import NotPermitted
from cis.portal.forms.positions import AssignmentCreateForm, AssignmentEndForm
from cis.portal.offers import offered_positions
from cis.rbac.models import Position, PositionAssignment
from cis.rbac.selectors import assignment_get
from cis.rbac.services import assignment_create, assignment_end

from .subject import PersonFormView


class AssignmentCreateView(PersonFormView[AssignmentCreateForm]):
    action = Action.ASSIGNMENT_CREATE
    template_name = "portal/people/assignment_create.html"
    form_class = AssignmentCreateForm
    heading = "Add a position"
    submit_label = "Add the position"

    def setup(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self._offered: QuerySet[Position] | None = None

    @property
    def offered(self) -> QuerySet[Position]:
        if self._offered is None:
            self._offered = offered_positions(self.actor, self.person)
        return self._offered

    def check_may_act(self) -> None:
        if not self.offered.exists():
            raise NotPermitted("There is no position you may give this person.")

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["positions"] = self.offered
        return kwargs

    def perform(self, form: AssignmentCreateForm) -> PositionAssignment:
        return assignment_create(
            actor=self.actor,
            person=self.person,
            position=form.cleaned_data["position"],
            start_date=form.cleaned_data["start_date"],
            end_date=form.cleaned_data["end_date"],
        )

    def success_message(self, result: PositionAssignment) -> str:
        return f"{self.person.full_name} now holds {result.position}."


class AssignmentEndView(PersonFormView[AssignmentEndForm]):
    action = Action.ASSIGNMENT_END
    template_name = "portal/people/assignment_end.html"
    form_class = AssignmentEndForm
    heading = "End a position"
    submit_label = "End the position"
    button_class = "nhsuk-button--warning"

    @property
    def assignment(self) -> PositionAssignment:
        return assignment_get(actor=self.actor, pk=self.kwargs["pk"], person=self.person)

    def check_may_act(self) -> None:
        require(self.actor, self.action, self.assignment)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["assignment"] = self.assignment
        return super().get_context_data(**kwargs)

    def perform(self, form: AssignmentEndForm) -> PositionAssignment:
        return assignment_end(
            actor=self.actor, assignment=self.assignment, end_date=form.cleaned_data["end_date"]
        )

    def success_message(self, result: PositionAssignment) -> str:
        ends = f"{result.end_date:%-d %B %Y}" if result.end_date else "today"
        return f"{self.person.full_name}'s position {result.position} ends on {ends}."
