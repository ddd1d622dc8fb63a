"""The permission matrix for every route: anonymous, no right, out of scope, in scope, oneself.

Each row is one request by one persona; a refusal must leave every table as it was, and a
success through a write must add exactly one audit event, recorded as coming from the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from cis.audit.models import AuditEvent

from .conftest import Caller, World, assert_not_signed_in, unchanged_database

V1 = "/api/v1"


@dataclass(frozen=True)
class Route:
    method: str
    path: Callable[[World], str]
    body: Callable[[World], dict[str, Any]] | None = None

    @property
    def writes(self) -> bool:
        return self.method != "get"


def _new_person(w: World) -> dict[str, Any]:
    return {
        "given_name": "Nadia",
        "family_name": "Newcomer",
        "date_of_birth": "1990-02-03",
        "registered_ra": "RA1",
    }


def _empty(w: World) -> dict[str, Any]:
    return {}


TRUST = ",".join(["RZZ", "SYNTHETIC TRUST", "YZZ", "QZZ"] + [""] * 23)

ROUTES: dict[str, Route] = {
    "import-list": Route("get", lambda w: f"{V1}/imports/"),
    "import-submit": Route(
        "post",
        lambda w: f"{V1}/imports/",
        lambda w: {"kind": "ods", "filename": "etr.csv", "content": TRUST, "ra": "RA1"},
    ),
    "oidc-client-list": Route("get", lambda w: f"{V1}/oidc-clients/"),
    "oidc-client-register": Route(
        "post",
        lambda w: f"{V1}/oidc-clients/",
        lambda w: {"name": "Synthetic EHR", "redirect_uris": ["https://ehr.example.org/cb"]},
    ),
    "me": Route("get", lambda w: f"{V1}/me/"),
    "contact-start": Route(
        "post",
        lambda w: f"{V1}/me/contact-verifications/",
        lambda w: {"channel": "email", "value": "new.address@nhs.net"},
    ),
    "person-list": Route("get", lambda w: f"{V1}/people/"),
    "person-create": Route("post", lambda w: f"{V1}/people/", _new_person),
    "person-detail": Route("get", lambda w: f"{V1}/people/{w.colleague.user_id}/"),
    "person-detail-self": Route("get", lambda w: f"{V1}/people/{w.holder.user_id}/"),
    "person-update": Route(
        "patch", lambda w: f"{V1}/people/{w.colleague.user_id}/", lambda w: {"given_name": "Col"}
    ),
    "person-update-self": Route(
        "patch", lambda w: f"{V1}/people/{w.agent.user_id}/", lambda w: {"given_name": "Al"}
    ),
    "identity-checks": Route(
        "get", lambda w: f"{V1}/people/{w.colleague.user_id}/identity-checks/"
    ),
    "verify-identity": Route(
        "post",
        lambda w: f"{V1}/people/{w.restricted.user_id}/identity-checks/",
        lambda w: {"document_types": ["passport", "utility_bill", "birth_certificate"]},
    ),
    "verify-identity-self": Route(
        "post",
        lambda w: f"{V1}/people/{w.id_checker.user_id}/identity-checks/",
        lambda w: {"document_types": ["passport", "utility_bill", "birth_certificate"]},
    ),
    "contact-confirmed": Route(
        "post",
        lambda w: f"{V1}/people/{w.colleague.user_id}/contact-confirmed/",
        lambda w: {"channel": "mobile", "value": "07700 900 456"},
    ),
    "contact-confirmed-self": Route(
        "post",
        lambda w: f"{V1}/people/{w.agent.user_id}/contact-confirmed/",
        lambda w: {"channel": "mobile", "value": "07700 900 456"},
    ),
    "person-close": Route(
        "post", lambda w: f"{V1}/people/{w.colleague.user_id}/close/", lambda w: {"reason": "Left"}
    ),
    "person-close-self": Route(
        "post", lambda w: f"{V1}/people/{w.agent.user_id}/close/", lambda w: {"reason": "Left"}
    ),
    "person-reopen": Route("post", lambda w: f"{V1}/people/{w.gone.user_id}/reopen/", _empty),
    "person-rights": Route("get", lambda w: f"{V1}/people/{w.lsa.user_id}/rights/"),
    "organisation-list": Route("get", lambda w: f"{V1}/organisations/"),
    "organisation-create": Route(
        "post",
        lambda w: f"{V1}/organisations/",
        lambda w: {
            "ods_code": "FNW01",
            "name": "New Branch",
            "org_type": "community_pharmacy",
            "serving_ra": "RA1",
        },
    ),
    "organisation-detail": Route("get", lambda w: f"{V1}/organisations/FBR01/"),
    "position-list": Route("get", lambda w: f"{V1}/positions/"),
    "position-create": Route(
        "post",
        lambda w: f"{V1}/positions/",
        lambda w: {"organisation": "FBR01", "name": "Dispenser", "job_roles": ["R8000"]},
    ),
    "position-detail": Route("get", lambda w: f"{V1}/positions/{w.pharmacist.pk}/"),
    "assignment-list": Route("get", lambda w: f"{V1}/assignments/"),
    "assignment-create": Route(
        "post",
        lambda w: f"{V1}/assignments/",
        lambda w: {"person": w.colleague.user_id, "position": w.counter.pk},
    ),
    "assignment-create-self": Route(
        "post",
        lambda w: f"{V1}/assignments/",
        lambda w: {"person": w.agent.user_id, "position": w.counter.pk},
    ),
    "assignment-detail": Route("get", lambda w: f"{V1}/assignments/{w.holder_assignment.pk}/"),
    "assignment-end": Route(
        "post", lambda w: f"{V1}/assignments/{w.holder_assignment.pk}/end/", _empty
    ),
    "assignment-end-self": Route(
        "post",
        lambda w: f"{V1}/assignments/{w.agent.assignments.get().pk}/end/",
        _empty,
    ),
    "right-list": Route("get", lambda w: f"{V1}/rights/"),
    "right-grant": Route(
        "post",
        lambda w: f"{V1}/rights/",
        lambda w: {"person": w.colleague.user_id, "right": "lsa", "organisation": "FBR01"},
    ),
    "right-grant-self": Route(
        "post",
        lambda w: f"{V1}/rights/",
        lambda w: {"person": w.manager.user_id, "right": "lsa", "organisation": "FBR01"},
    ),
    "right-detail": Route("get", lambda w: f"{V1}/rights/{w.lsa_grant.pk}/"),
    "right-revoke": Route("post", lambda w: f"{V1}/rights/{w.lsa_grant.pk}/revoke/", _empty),
    "right-revoke-self": Route(
        "post", lambda w: f"{V1}/rights/{w.manager_grant.pk}/revoke/", _empty
    ),
}

# (route, persona, expected status). Personas: anonymous; holder (no right); manager2 (every
# right, at another RA: out of scope); the persona whose right allows it; and oneself.
MATRIX: list[tuple[str, str, int]] = [
    ("import-list", "holder", 403),
    ("import-list", "manager", 403),
    ("import-list", "desk", 200),
    ("import-submit", "holder", 403),
    ("import-submit", "manager", 403),
    ("import-submit", "desk", 202),
    ("oidc-client-list", "holder", 403),
    ("oidc-client-list", "manager", 403),
    ("oidc-client-list", "desk", 200),
    ("oidc-client-register", "lsa", 403),
    ("oidc-client-register", "manager", 403),
    ("oidc-client-register", "desk", 201),
    ("me", "holder", 200),
    ("me", "restricted", 200),
    ("contact-start", "holder", 201),
    ("person-list", "holder", 200),
    ("person-list", "lsa", 200),
    ("person-create", "holder", 403),
    ("person-create", "lsa", 403),
    ("person-create", "manager2", 403),
    ("person-create", "agent", 201),
    ("person-detail", "holder", 404),
    ("person-detail", "manager2", 404),
    ("person-detail", "lsa", 200),
    ("person-detail-self", "holder", 200),
    ("person-update", "holder", 404),
    ("person-update", "lsa", 403),
    ("person-update", "manager2", 404),
    ("person-update", "agent", 200),
    ("person-update-self", "agent", 403),
    ("identity-checks", "holder", 404),
    ("identity-checks", "manager2", 404),
    ("identity-checks", "id_checker", 200),
    ("verify-identity", "holder", 404),
    ("verify-identity", "manager2", 404),
    ("verify-identity", "id_checker", 201),
    ("verify-identity-self", "id_checker", 403),
    ("contact-confirmed", "holder", 404),
    ("contact-confirmed", "lsa", 403),
    ("contact-confirmed", "manager2", 404),
    ("contact-confirmed", "agent", 200),
    ("contact-confirmed-self", "agent", 403),
    ("person-close", "holder", 404),
    ("person-close", "lsa", 403),
    ("person-close", "manager2", 404),
    ("person-close", "agent", 200),
    ("person-close-self", "agent", 403),
    ("person-reopen", "holder", 404),
    ("person-reopen", "manager2", 404),
    ("person-reopen", "agent", 200),
    ("person-rights", "holder", 404),
    ("person-rights", "manager2", 404),
    ("person-rights", "lsa", 200),
    ("organisation-list", "holder", 200),
    ("organisation-list", "lsa", 200),
    ("organisation-create", "holder", 403),
    ("organisation-create", "agent", 403),
    ("organisation-create", "manager2", 403),  # the RA is public; the policy refuses
    ("organisation-create", "manager", 201),
    ("organisation-create", "desk", 201),
    ("organisation-detail", "outsider", 404),
    ("organisation-detail", "manager2", 404),
    ("organisation-detail", "lsa", 200),
    ("organisation-detail", "holder", 200),
    ("position-list", "holder", 200),
    ("position-list", "lsa", 200),
    ("position-create", "holder", 403),
    ("position-create", "agent", 403),
    ("position-create", "manager2", 404),
    ("position-create", "advanced", 201),
    ("position-detail", "outsider", 404),
    ("position-detail", "manager2", 404),
    ("position-detail", "lsa", 200),
    ("position-detail", "holder", 200),
    ("assignment-list", "holder", 200),
    ("assignment-list", "lsa", 200),
    ("assignment-create", "holder", 404),
    ("assignment-create", "lsa", 403),
    ("assignment-create", "manager2", 404),
    ("assignment-create", "agent", 201),
    ("assignment-create", "sponsor", 201),
    ("assignment-create-self", "agent", 403),
    ("assignment-detail", "outsider", 404),
    ("assignment-detail", "manager2", 404),
    ("assignment-detail", "lsa", 200),
    ("assignment-detail", "holder", 200),
    ("assignment-end", "holder", 403),
    ("assignment-end", "colleague", 404),
    ("assignment-end", "manager2", 404),
    ("assignment-end", "lsa", 403),
    ("assignment-end", "agent", 200),
    ("assignment-end-self", "agent", 403),
    ("right-list", "holder", 200),
    ("right-list", "lsa", 200),
    ("right-grant", "holder", 404),
    ("right-grant", "agent", 403),
    ("right-grant", "manager2", 404),
    ("right-grant", "manager", 201),
    ("right-grant-self", "manager", 403),
    ("right-detail", "holder", 404),
    ("right-detail", "manager2", 404),
    ("right-detail", "lsa", 200),
    ("right-revoke", "holder", 404),
    ("right-revoke", "lsa", 403),
    ("right-revoke", "manager2", 404),
    ("right-revoke", "manager", 200),
    ("right-revoke-self", "manager", 403),
]


@pytest.mark.parametrize(("route", "who", "expected"), MATRIX)
def test_matrix(world: World, call: Caller, route: str, who: str, expected: int) -> None:
    spec = ROUTES[route]
    body = spec.body(world) if spec.body else None
    events_before = AuditEvent.objects.count()
    if expected >= 400 or not spec.writes:
        with unchanged_database():
            response = call(who, spec.method, spec.path(world), body)
    else:
        response = call(who, spec.method, spec.path(world), body)
    assert response.status_code == expected, response.json()
    if expected >= 400:
        assert {"error", "detail"} <= set(response.json())
    elif spec.writes:
        events = AuditEvent.objects.order_by("seq")[events_before:]
        if route != "contact-start":  # a pending code is not yet a change to the person
            assert len(events) == 1
            assert events[0].channel == "api"
            assert events[0].actor_ref == world.persona(who).user_id  # type: ignore[union-attr]


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_anonymous_is_turned_away(world: World, call: Caller, route: str) -> None:
    spec = ROUTES[route]
    with unchanged_database():
        response = call("anonymous", spec.method, spec.path(world), spec.body and spec.body(world))
    assert_not_signed_in(response)


def test_every_route_is_in_the_matrix() -> None:
    covered = {route for route, _, _ in MATRIX}
    assert covered == set(ROUTES)
