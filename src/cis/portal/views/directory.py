"""The directory for administrators: people and organisations in the actor's scope."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from cis.authz.actions import Action
from cis.authz.policy import can, require
from cis.core.dbrouting import reads_from_replica
from cis.organisations.selectors import organisation_list
from cis.people.selectors import person_search
from cis.portal.forms.organisations import OrganisationSearchForm
from cis.portal.forms.people import FindByUserIdForm, PersonSearchForm

from .base import PortalPage, page_of

RESULTS_SHOWN = 25  # NHS lists: pagination beyond 25 rows


@reads_from_replica
class PersonSearchView(PortalPage):
    """Search by name, user id or email; or go straight to a person by their full user id."""

    template_name = "portal/directory/people.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        require(self.actor, Action.PERSON_SEARCH)
        finder = FindByUserIdForm(request.GET if "user_id" in request.GET else None)
        if finder.is_bound and finder.is_valid():
            user_id = finder.cleaned_data["user_id"]
            return redirect("portal:person-detail", user_id=user_id)
        search = PersonSearchForm(request.GET if "q" in request.GET else None)
        query = search.cleaned_data["q"] if search.is_bound and search.is_valid() else ""
        page = page_of(
            request, person_search(actor=self.actor, query=query, limit=None), limit=RESULTS_SHOWN
        )
        return self.render_to_response(
            self.get_context_data(
                form=finder if finder.is_bound else None,
                finder=finder,
                search=search,
                query=query,
                searched=search.is_bound,
                people=page.results,
                page=page,
            )
        )


@reads_from_replica
class OrganisationListView(PortalPage):
    template_name = "portal/directory/organisations.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        require(self.actor, Action.ORGANISATION_VIEW)
        search = OrganisationSearchForm(request.GET if "q" in request.GET else None)
        query = search.cleaned_data["q"] if search.is_bound and search.is_valid() else ""
        organisations = organisation_list(actor=self.actor, query=query)
        return self.render_to_response(
            self.get_context_data(
                search=search,
                query=query,
                organisations=organisations,
                can_create=can(self.actor, Action.ORGANISATION_CREATE),
            )
        )
