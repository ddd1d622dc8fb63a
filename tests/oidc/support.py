"""Test plumbing: an httpx transport into Django's test client, a signed-in person, a client."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from django.test import Client

from cis.authz.policy import CONSOLE
from cis.oidc.clients import NewClient, oidc_client_add
from cis.people.models import Person
from cis.rbac.models import PositionAssignment
from cis.signin.constants import ACR_AAL3, AMR_SMARTCARD
from cis.signin.models import SignInMethod, SignInSession
from cis.signin.services import session_start, session_ticket_issue
from tests.factories.directory import (
    ActivityFactory,
    AssignmentFactory,
    JobRoleFactory,
    OrganisationFactory,
    PersonFactory,
    PositionFactory,
)

REDIRECT_URI = "https://prescribing.example.nhs.uk/callback"
LOGOUT_URI = "https://prescribing.example.nhs.uk/signed-out"
ALL_SCOPES = "openid profile email nhsperson associatedorgs nationalrbacaccess selectedrole"


class DjangoTransport(httpx.BaseTransport):
    """Sends httpx requests through django.test.Client: same thread, same test transaction."""

    def __init__(self, client: Client | None = None) -> None:
        self.client = client or Client()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        path = url.raw_path.decode()
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("host", "content-length", "content-type")
        }
        content_type = request.headers.get("content-type", "application/octet-stream")
        response = self.client.generic(
            request.method,
            path,
            data=request.read(),
            content_type=content_type,
            headers=headers,
            secure=url.scheme == "https",
            SERVER_NAME=url.host,
        )
        return httpx.Response(
            status_code=response.status_code,
            headers=list(response.items()),
            content=response.content,
            request=request,
        )


def http(client: Client | None = None) -> httpx.Client:
    return httpx.Client(transport=DjangoTransport(client), base_url="http://testserver")


@dataclass
class Holder:
    person: Person
    assignments: list[PositionAssignment]


def holder(*, positions: int = 1) -> Holder:
    """An active person with `positions` current positions (each with a job role and activity)."""
    person = PersonFactory(given_name="Asha", family_name="Patel")
    role = JobRoleFactory()
    role.baseline_activities.add(ActivityFactory())
    assignments = []
    for n in range(positions):
        org = OrganisationFactory(name=f"High Street Pharmacy {n}")
        position = PositionFactory(organisation=org, name=f"Pharmacist {n}", job_roles=[role])
        assignments.append(AssignmentFactory(person=person, position=position))
    return Holder(person=person, assignments=assignments)


def smartcard_session(person: Person, **kw: Any) -> SignInSession:
    """A session as a smartcard sign-in makes it (the card checks are tested in tests/signin)."""
    return session_start(
        person=person,
        method=SignInMethod.SMARTCARD,
        acr=ACR_AAL3,
        amr=list(AMR_SMARTCARD),
        card_serial=kw.pop("card_serial", "SC0001"),
        workstation=kw.pop("workstation", "WS-1"),
        client_address=kw.pop("client_address", "10.0.0.5"),
        **kw,
    )


def browser_signed_in(person: Person, client: Client | None = None) -> tuple[Client, SignInSession]:
    """A browser that took over a smartcard session through the agent's one-time link."""
    client = client or Client()
    session = smartcard_session(person)
    secret = session_ticket_issue(session=session)
    response = client.post(f"/signin/ticket/{secret}/")
    assert response.status_code == 302, response.content
    return client, session


def new_client(**kw: Any) -> NewClient:
    return oidc_client_add(
        actor=CONSOLE,
        name=kw.pop("name", "Prescribing"),
        redirect_uris=kw.pop("redirect_uris", [REDIRECT_URI]),
        post_logout_redirect_uris=kw.pop("post_logout_redirect_uris", [LOGOUT_URI]),
    )


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def later(seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=seconds)
