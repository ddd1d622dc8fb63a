"""A small directory for portal tests: an RA's area, someone elsewhere, and one person per right."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.test import Client

from cis.audit import refusals
from cis.audit.models import AuditEvent
from cis.core import clock
from cis.organisations.models import Organisation, OrganisationType, RegistrationAuthority
from cis.people.models import ContactVerification, IdentityCheck, Person
from cis.rbac.models import Position, PositionAssignment
from cis.rights.models import Right, RightGrant
from tests.factories.directory import (
    AssignmentFactory,
    JobRoleFactory,
    OrganisationFactory,
    PersonFactory,
    PositionFactory,
    RegistrationAuthorityFactory,
    RightGrantFactory,
)

BACKEND = "django.contrib.auth.backends.ModelBackend"

# Who holds which right, and over what: the RA's whole area, an organisation, or everywhere.
ADMINS: dict[str, tuple[Right, str]] = {
    "lsa": (Right.LSA, "branch"),
    "sponsor": (Right.SPONSOR, "head_office+children"),
    "id_checker": (Right.ID_CHECKER, "ra"),
    "ra_agent": (Right.RA_AGENT, "ra"),
    "ra_agent_advanced": (Right.RA_AGENT_ADVANCED, "ra"),
    "ra_manager": (Right.RA_MANAGER, "ra"),
    "service_desk": (Right.SERVICE_DESK, "national"),
}


@dataclass
class World:
    ra: RegistrationAuthority
    other_ra: RegistrationAuthority
    head_office: Organisation
    branch: Organisation
    elsewhere: Organisation
    pharmacist: Position
    counter_assistant: Position
    far_pharmacist: Position
    people: dict[str, Person] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Person:
        try:
            return self.__dict__["people"][name]
        except KeyError:
            raise AttributeError(name) from None


def build_world() -> World:
    ra = RegistrationAuthorityFactory(code="RA-N", name="North RA")
    other_ra = RegistrationAuthorityFactory(code="RA-S", name="South RA")
    head_office = OrganisationFactory(
        ods_code="FHO01",
        name="Chain head office",
        org_type=OrganisationType.PHARMACY_HEAD_OFFICE,
        serving_ra=ra,
    )
    branch = OrganisationFactory(
        ods_code="FBR01", name="Chain branch", serving_ra=ra, parent=head_office
    )
    elsewhere = OrganisationFactory(ods_code="FEL01", name="Far pharmacy", serving_ra=other_ra)
    JobRoleFactory()
    world = World(
        ra=ra,
        other_ra=other_ra,
        head_office=head_office,
        branch=branch,
        elsewhere=elsewhere,
        pharmacist=PositionFactory(organisation=branch, name="Pharmacist"),
        counter_assistant=PositionFactory(
            organisation=branch, name="Counter assistant", assignable=True
        ),
        far_pharmacist=PositionFactory(organisation=elsewhere, name="Pharmacist"),
    )
    office = PositionFactory(organisation=head_office, name="Office staff")
    for name, (right, scope) in ADMINS.items():
        person = PersonFactory(
            given_name=name.replace("_", " ").title(), family_name="Admin", registered_ra=ra
        )
        AssignmentFactory(person=person, position=office)
        kwargs: dict[str, object] = {"person": person, "right": right}
        if scope == "ra":
            kwargs["ra"] = ra
        elif scope.startswith("head_office"):
            kwargs["organisation"] = head_office
            kwargs["include_children"] = True
        elif scope == "branch":
            kwargs["organisation"] = branch
        RightGrantFactory(**kwargs)
        world.people[name] = person
    for name, given, family, position in (
        ("holder", "Hana", "Holder", world.pharmacist),
        ("colleague", "Colm", "Colleague", world.pharmacist),
        ("outsider", "Otto", "Outsider", world.far_pharmacist),
    ):
        person = PersonFactory(
            given_name=given,
            family_name=family,
            registered_ra=other_ra if name == "outsider" else ra,
        )
        AssignmentFactory(person=person, position=position)
        world.people[name] = person
    return world


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def sign_in(client: Client) -> Callable[[Person], Client]:
    def _sign_in(person: Person) -> Client:
        client.force_login(person, backend=BACKEND)
        return client

    return _sign_in


Counts = dict[str, int]


def counts() -> Counts:
    """Row counts of everything a portal form could change, to prove a refusal changed nothing."""
    return {
        "people": Person.objects.count(),
        "organisations": Organisation.objects.count(),
        "positions": Position.objects.count(),
        "assignments": PositionAssignment.objects.count(),
        "ended_assignments": PositionAssignment.objects.filter(end_date__isnull=False).count(),
        "grants": RightGrant.objects.count(),
        "revoked_grants": RightGrant.objects.filter(revoked_at__isnull=False).count(),
        "identity_checks": IdentityCheck.objects.count(),
        "verifications": ContactVerification.objects.count(),
        "audit_events": AuditEvent.objects.exclude(action__in=refusals.REFUSAL_ACTIONS).count(),
    }


def date_parts(name: str, value: dt.date | None) -> dict[str, str]:
    """A date as the three boxes of the NHS date input."""
    if value is None:
        return {f"{name}_day": "", f"{name}_month": "", f"{name}_year": ""}
    return {
        f"{name}_day": str(value.day),
        f"{name}_month": str(value.month),
        f"{name}_year": str(value.year),
    }


def days(n: int) -> dt.date:
    return clock.today() + dt.timedelta(days=n)
