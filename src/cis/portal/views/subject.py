"""Forms about one person, who must be visible to the actor (404 otherwise)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.http import HttpRequest
from django.urls import reverse

from cis.authz.actions import Action
from cis.authz.policy import require
from cis.people.models import Person
from cis.people.selectors import person_get
from cis.portal.forms.base import PortalForm

from .base import ServiceFormView

F = TypeVar("F", bound=PortalForm)


class PersonFormView(ServiceFormView[F]):
    action: Action

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self._person: Person | None = None

    @property
    def person(self) -> Person:
        if self._person is None:
            self._person = person_get(actor=self.actor, user_id=self.kwargs["user_id"])
        return self._person

    def check_may_act(self) -> None:
        require(self.actor, self.action, self.person)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("caption", self.person.full_name)
        kwargs["person"] = self.person
        return super().get_context_data(**kwargs)

    def back_url(self) -> str:
        return reverse("portal:person-detail", args=[self.person.user_id])

    def success_url_for(self, result: Any) -> str:
        return self.back_url()
