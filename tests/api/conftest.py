"""A small directory to call the API in: two RAs, a chain with a branch, and a persona per right."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from django.db.models import Model
from rest_framework.response import Response
from rest_framework.test import APIClient

from cis.audit import refusals
from cis.audit.models import AuditEvent
from cis.core import clock
from cis.organisations.models import (
    Organisation,
    OrganisationStatus,
    OrganisationType,
    RegistrationAuthority,
)
from cis.people.models import (
    AssuranceLevel,
    ContactVerification,
    IdentityCheck,
    Person,
    PersonStatus,
)
from cis.rbac.models import Activity, JobRole, Position, PositionAssignment
from cis.rights.models import RightGrant
from tests.factories.directory import (
    ActivityFactory,
    AssignmentFactory,
    JobRoleFactory,
    OrganisationFactory,
    PersonFactory,
    PositionFactory,
    RegistrationAuthorityFactory,
    RightGrantFactory,
)


@dataclass
class World:
    ra: RegistrationAuthority
    ra2: RegistrationAuthority
    head: Organisation  # a chain's head office, RA1
    branch: Organisation  # its branch, RA1
    other: Organisation  # an independent pharmacy served by RA2: out of scope for RA1 staff
    closed: Organisation  # a closed pharmacy, RA1
    role: JobRole
    activity: Activity
    pharmacist: Position  # at the branch, not assignable
    counter: Position  # at the branch, assignable
    other_position: Position
    closed_position: Position
    holder: Person  # a card holder at the branch, no rights
    colleague: Person  # another holder at the branch
    outsider: Person  # a holder at the other pharmacy (RA2)
    restricted: Person  # registered by RA1, identity not verified, no position yet
    gone: Person  # a closed profile registered by RA1
    lsa: Person
    sponsor: Person
    id_checker: Person
    agent: Person
    advanced: Person
    manager: Person
    manager2: Person  # RA Manager of RA2: every right, but nowhere near RA1
    desk: Person
    holder_assignment: PositionAssignment
    outsider_assignment: PositionAssignment
    lsa_grant: RightGrant
    manager_grant: RightGrant

    def persona(self, name: str) -> Person | None:
        return None if name == "anonymous" else getattr(self, name)


def _staff(world: dict[str, Any], name: str, at: Position, right: str, **scope: Any) -> Person:
    person = PersonFactory(given_name=name.title(), family_name="Staff", registered_ra=world["ra"])
    AssignmentFactory(person=person, position=at)
    world[f"{name}_grant"] = RightGrantFactory(person=person, right=right, **scope)
    return person


@pytest.fixture
def world(db: None) -> World:
    ra = RegistrationAuthorityFactory(code="RA1", name="North RA")
    ra2 = RegistrationAuthorityFactory(code="RA2", name="South RA")
    head = OrganisationFactory(
        ods_code="FHQ01",
        name="Chain Head Office",
        org_type=OrganisationType.PHARMACY_HEAD_OFFICE,
        serving_ra=ra,
    )
    branch = OrganisationFactory(ods_code="FBR01", name="Chain Branch", parent=head, serving_ra=ra)
    other = OrganisationFactory(ods_code="FOT01", name="Other Pharmacy", serving_ra=ra2)
    closed = OrganisationFactory(ods_code="FCL01", name="Closed Pharmacy", serving_ra=ra)
    role = JobRoleFactory()
    activity = ActivityFactory()
    role.baseline_activities.set([activity])
    pharmacist = PositionFactory(organisation=branch, name="Pharmacist", job_roles=[role])
    pharmacist.activities.set([activity])
    counter = PositionFactory(
        organisation=branch, name="Counter assistant", assignable=True, job_roles=[role]
    )
    head_admin = PositionFactory(organisation=head, name="Administrator", job_roles=[role])
    other_position = PositionFactory(organisation=other, name="Pharmacist", job_roles=[role])
    closed_position = PositionFactory(organisation=closed, name="Pharmacist", job_roles=[role])
    Organisation.objects.filter(pk=closed.pk).update(
        status=OrganisationStatus.CLOSED, closed_on=clock.today() - dt.timedelta(days=5)
    )
    closed.refresh_from_db()

    holder = PersonFactory(given_name="Hana", family_name="Holder", registered_ra=ra)
    colleague = PersonFactory(given_name="Colin", family_name="Colleague", registered_ra=ra)
    outsider = PersonFactory(given_name="Otto", family_name="Outsider", registered_ra=ra2)
    restricted = PersonFactory(
        given_name="Rita",
        family_name="Restricted",
        registered_ra=ra,
        status=PersonStatus.RESTRICTED,
        assurance_level=AssuranceLevel.NONE,
    )
    gone = PersonFactory(
        given_name="Gary",
        family_name="Gone",
        registered_ra=ra,
        status=PersonStatus.CLOSED,
        closed_at=clock.now(),
    )
    holder_assignment = AssignmentFactory(person=holder, position=pharmacist)
    AssignmentFactory(person=colleague, position=pharmacist)
    outsider_assignment = AssignmentFactory(person=outsider, position=other_position)

    staff: dict[str, Any] = {"ra": ra}
    lsa = _staff(staff, "lsa", pharmacist, "lsa", organisation=branch)
    sponsor = _staff(staff, "sponsor", pharmacist, "sponsor", organisation=branch)
    id_checker = _staff(staff, "id_checker", head_admin, "id_checker", ra=ra)
    agent = _staff(staff, "agent", head_admin, "ra_agent", ra=ra)
    advanced = _staff(staff, "advanced", head_admin, "ra_agent_advanced", ra=ra)
    manager = _staff(staff, "manager", head_admin, "ra_manager", ra=ra)
    staff["ra"] = ra2
    manager2 = _staff(staff, "manager2", other_position, "ra_manager", ra=ra2)
    desk = PersonFactory(given_name="Desk", family_name="Staff")
    RightGrantFactory(person=desk, right="service_desk")

    return World(
        ra=ra,
        ra2=ra2,
        head=head,
        branch=branch,
        other=other,
        closed=closed,
        role=role,
        activity=activity,
        pharmacist=pharmacist,
        counter=counter,
        other_position=other_position,
        closed_position=closed_position,
        holder=holder,
        colleague=colleague,
        outsider=outsider,
        restricted=restricted,
        gone=gone,
        lsa=lsa,
        sponsor=sponsor,
        id_checker=id_checker,
        agent=agent,
        advanced=advanced,
        manager=manager,
        manager2=manager2,
        desk=desk,
        holder_assignment=holder_assignment,
        outsider_assignment=outsider_assignment,
        lsa_grant=staff["lsa_grant"],
        manager_grant=staff["manager_grant"],
    )


Caller = Callable[..., Response]


@pytest.fixture
def call(world: World) -> Caller:
    """call(who, method, path, body=None): one JSON request as a persona (signed in once)."""
    clients: dict[str, APIClient] = {}

    def _client(who: str | Person | None) -> APIClient:
        person = world.persona(who) if isinstance(who, str) else who
        key = person.user_id if person is not None else "anonymous"
        if key not in clients:
            clients[key] = APIClient()
            if person is not None:
                clients[key].force_login(person)
        return clients[key]

    def _call(who: str | Person | None, method: str, path: str, body: Any = None) -> Response:
        response: Response = getattr(_client(who), method.lower())(path, body, format="json")
        return response

    return _call


SNAPSHOT_MODELS: list[type[Model]] = [
    RegistrationAuthority,
    Organisation,
    Person,
    IdentityCheck,
    ContactVerification,
    Position,
    Position.job_roles.through,
    Position.activities.through,
    PositionAssignment,
    RightGrant,
    AuditEvent,
]


def database_snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table the API can change (last sign-in times aside), and every audit
    event but the refusals (a refusal is recorded: cis.audit.refusals)."""
    snap = {}
    for model in SNAPSHOT_MODELS:
        found = model._default_manager.order_by("pk")
        if model is AuditEvent:
            found = found.exclude(action__in=refusals.REFUSAL_ACTIONS)
        rows = list(found.values())
        for row in rows:
            row.pop("last_login", None)
        snap[model._meta.label] = rows
    return snap


@contextmanager
def unchanged_database() -> Iterator[None]:
    before = database_snapshot()
    yield
    after = database_snapshot()
    for label, rows in before.items():
        assert after[label] == rows, f"{label} changed"


@pytest.fixture
def unchanged() -> Callable[[], Any]:
    return unchanged_database


def assert_error(
    response: Response, status: int, error: str, field: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert response.status_code == status, body
    assert body["error"] == error, body
    assert body["detail"], body
    if field is not None:
        assert body.get("field") == field, body
    return body


def assert_not_signed_in(response: Response) -> None:
    # 403 with session authentication; 401 once a bearer-token class comes first.
    assert response.status_code in (401, 403)
    assert response.json()["error"] == "not_authenticated"


def count_queries(call: Caller, who: str, path: str) -> int:
    """How many queries one signed-in GET takes (the persona is signed in beforehand)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call(who, "get", path)
    with CaptureQueriesContext(connection) as ctx:
        response = call(who, "get", path)
    assert response.status_code == 200, response.json()
    return len(ctx.captured_queries)
