"""Running `cis` commands in-process, and counting rows to prove that a refusal changed nothing."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.management import call_command

from cis.audit.models import AuditEvent
from cis.authz.policy import CONSOLE
from cis.organisations.models import Organisation, RegistrationAuthority
from cis.organisations.services import organisation_create, ra_create
from cis.people.models import ContactVerification, IdentityCheck, Person
from cis.people.services import person_create, person_verify_identity
from cis.rbac.catalogue import catalogue_load
from cis.rbac.models import JobRole, Position, PositionAssignment
from cis.rbac.services import position_create
from cis.rights.models import RightGrant

COUNTED = (
    RegistrationAuthority,
    Organisation,
    Person,
    IdentityCheck,
    ContactVerification,
    JobRole,
    Position,
    PositionAssignment,
    RightGrant,
    AuditEvent,
)

Cis = Callable[..., str]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


@pytest.fixture
def cis() -> Cis:
    """`cis ARGS...` in-process: returns what it printed; a refusal raises CommandError."""

    def run(*args: str) -> str:
        out = io.StringIO()
        call_command(*args, stdout=out, stderr=io.StringIO())
        return out.getvalue()

    return run


@pytest.fixture
def cis_json(cis: Cis) -> Callable[..., Any]:
    def run(*args: str) -> Any:
        return json.loads(cis(*args, "--json"))

    return run


@dataclass
class Directory:
    ra: RegistrationAuthority
    head_office: Organisation
    branch: Organisation
    gp: Organisation
    pharmacist_post: Position
    dispenser_post: Position
    verified: Person
    unverified: Person


@pytest.fixture
def directory(db: None) -> Directory:
    """A small directory built by the console through the services."""
    catalogue_load(actor=CONSOLE)
    ra = ra_create(actor=CONSOLE, code="RA-T", name="Test Registration Authority")
    head_office = organisation_create(
        actor=CONSOLE,
        ods_code="PHQ01",
        name="Chain Head Office",
        org_type="pharmacy_head_office",
        serving_ra=ra,
    )
    branch = organisation_create(
        actor=CONSOLE,
        ods_code="FAB12",
        name="Chain Branch",
        org_type="community_pharmacy",
        serving_ra=ra,
        parent=head_office,
    )
    gp = organisation_create(
        actor=CONSOLE, ods_code="B82005", name="A Surgery", org_type="gp_practice", serving_ra=ra
    )
    pharmacist_post = position_create(
        actor=CONSOLE, organisation=branch, name="Pharmacist", job_role_codes=["R8003", "R1290"]
    )
    dispenser_post = position_create(
        actor=CONSOLE,
        organisation=branch,
        name="Dispenser",
        job_role_codes=["R8008", "R0011"],
        assignable=True,
    )
    verified = person_create(
        actor=CONSOLE,
        given_name="Nadia",
        family_name="Karim",
        date_of_birth=dt.date(1985, 3, 1),
        registered_ra=ra,
    )
    person_verify_identity(
        actor=CONSOLE, person=verified, document_types=["passport", "utility_bill", "p60"]
    )
    verified.refresh_from_db()
    unverified = person_create(
        actor=CONSOLE,
        given_name="Owen",
        family_name="Price",
        date_of_birth=dt.date(1990, 7, 9),
        registered_ra=ra,
    )
    return Directory(
        ra, head_office, branch, gp, pharmacist_post, dispenser_post, verified, unverified
    )
