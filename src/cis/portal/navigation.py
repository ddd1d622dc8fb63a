"""What the signed-in person is offered in the header and on the home page, asked of the policy."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.http import HttpRequest
from django.urls import reverse

from cis.authz.actions import Action
from cis.authz.policy import can
from cis.people.models import Person


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    # Shown only when the policy allows this action somewhere (None: everyone signed in).
    action: Action | None = None
    description: str = ""


# Later pages (smartcards, certificates, requests) add their entries here.
NAV_ENTRIES: list[NavEntry] = [
    NavEntry("Home", "portal:home"),
    NavEntry(
        "My details",
        "portal:my-details",
        description="Your profile, positions and rights; change your email or mobile.",
    ),
    NavEntry(
        "Find a person",
        "portal:person-search",
        Action.PERSON_SEARCH,
        "Search the people in the organisations your rights cover.",
    ),
    NavEntry("Requests", "portal:request-list", None, "Requests to the RA: raise, follow, decide."),
    NavEntry(
        "Organisations",
        "portal:organisation-list",
        Action.ORGANISATION_VIEW,
        "The organisations your rights cover, their positions and staff.",
    ),
]

# Things to start from the home page rather than the header.
TASK_ENTRIES: list[NavEntry] = [
    NavEntry(
        "Create a person",
        "portal:person-create",
        Action.PERSON_CREATE,
        "Register someone new, before their identity check.",
    ),
    NavEntry("Raise a request", "portal:request-new", Action.REQUEST_RAISE, "Ask the RA."),
    NavEntry(
        "Create an organisation",
        "portal:organisation-create",
        Action.ORGANISATION_CREATE,
        "Add an organisation by its ODS code.",
    ),
    NavEntry(
        "Approval policies",
        "portal:approval-policies",
        Action.REQUEST_VIEW,
        "How many approvers each type of request needs, and who may approve it.",
    ),
    NavEntry(
        "Imports",
        "portal:imports",
        Action.IMPORT_RUN,
        "Load organisations from ODS files and people from ESR extracts.",
    ),
    NavEntry(
        "Clinical systems (OIDC clients)",
        "portal:oidc-clients",
        Action.OIDC_CLIENT_MANAGE,
        "Register the clinical systems that sign people in with CIS; rotate or retire them.",
    ),
    NavEntry(
        "Role catalogue",
        "portal:catalogue",
        Action.CATALOGUE_VIEW,
        "The national RBAC job roles and activities that positions are built from.",
    ),
    NavEntry(
        "Registration Authorities",
        "portal:ra-list",
        None,
        "Who checks identities and issues smartcards, and how to reach them.",
    ),
    NavEntry(
        "Your sign-ins",
        "signin:my-sessions",
        None,
        "Where you are signed in, with which card and role; sign out of any of them.",
    ),
    NavEntry(
        "Security keys",
        "signin:authenticators",
        None,
        "Register a security key or this device's authenticator to sign in with.",
    ),
]


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool
    description: str


class Navigation:
    """Evaluated lazily: pages that never show the menu never ask the policy."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    def _allowed(self, entry: NavEntry) -> bool:
        user = self.request.user
        if not isinstance(user, Person):
            return False
        return entry.action is None or can(user, entry.action)

    def _links(self, entries: list[NavEntry]) -> list[NavLink]:
        links = []
        for entry in entries:
            if not self._allowed(entry):
                continue
            url = reverse(entry.url_name)
            current = self.request.path == url or (url != "/" and self.request.path.startswith(url))
            links.append(NavLink(entry.label, url, current, entry.description))
        return links

    @cached_property
    def items(self) -> list[NavLink]:
        return self._links(NAV_ENTRIES)

    @cached_property
    def tasks(self) -> list[NavLink]:
        return self._links(TASK_ENTRIES)
