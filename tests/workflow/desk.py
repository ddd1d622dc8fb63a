"""A small RA to work in: a Sponsor, two Agents, two Managers, the service desk and some holders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cis.audit.chain import GENESIS
from cis.audit.models import AuditHead
from cis.core import clock
from cis.organisations.models import (
    Organisation,
    OrganisationStatus,
    OrganisationType,
    RegistrationAuthority,
)
from cis.people.models import Person
from cis.rbac.models import Position, PositionAssignment
from cis.rights.models import Right
from tests.factories.directory import (
    AssignmentFactory,
    OrganisationFactory,
    PersonFactory,
    PositionFactory,
    RegistrationAuthorityFactory,
    RightGrantFactory,
)

# The smallest thing check_photo accepts as a PNG photo.
PHOTO = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@dataclass
class Desk:
    ra: RegistrationAuthority
    head_office: Organisation
    branch: Organisation
    closed_org: Organisation
    sponsor: Person
    lsa: Person
    agent: Person
    agent2: Person
    manager: Person
    manager2: Person
    service_desk: Person
    holder: Person
    holder_post: PositionAssignment
    pharmacist: Position
    closed_post: Position


def build_desk() -> Desk:
    # A transactional test elsewhere may have flushed the row the migration made.
    AuditHead.objects.get_or_create(id=1, defaults={"seq": 0, "hash": GENESIS})
    ra = RegistrationAuthorityFactory(code="RA-W", name="Workflow RA")
    head_office = OrganisationFactory(
        ods_code="FHW01",
        name="Healthy Chain head office",
        org_type=OrganisationType.PHARMACY_HEAD_OFFICE,
        serving_ra=ra,
    )
    branch = OrganisationFactory(
        ods_code="FBW01", name="Healthy Chain Leeds", serving_ra=ra, parent=head_office
    )
    closed_org = OrganisationFactory(
        ods_code="FCW01",
        name="Shut Pharmacy",
        serving_ra=ra,
        status=OrganisationStatus.CLOSED,
        closed_on=clock.today() - dt.timedelta(days=3),
    )
    staff = PositionFactory(organisation=head_office, name="Office staff")
    pharmacist = PositionFactory(organisation=branch, name="Pharmacist")
    closed_post = PositionFactory(organisation=closed_org, name="Dispenser")

    def person(given: str, family: str, right: Right | None = None, **scope: object) -> Person:
        p: Person = PersonFactory(given_name=given, family_name=family, registered_ra=ra)
        AssignmentFactory(person=p, position=staff)
        if right is not None:
            RightGrantFactory(person=p, right=right, **scope)
        return p

    sponsor = person(
        "Sam", "Sponsor", Right.SPONSOR, organisation=head_office, include_children=True
    )
    lsa = person("Lee", "Lsa", Right.LSA, organisation=branch)
    agent = person("Alex", "Agent", Right.RA_AGENT, ra=ra)
    agent2 = person("Bailey", "Agent", Right.RA_AGENT, ra=ra)
    manager = person("Morgan", "Manager", Right.RA_MANAGER, ra=ra)
    manager2 = person("Nico", "Manager", Right.RA_MANAGER, ra=ra)
    service_desk = person("Dana", "Desk", Right.SERVICE_DESK)
    holder: Person = PersonFactory(given_name="Hana", family_name="Holder", registered_ra=ra)
    holder_post = AssignmentFactory(person=holder, position=pharmacist)
    return Desk(
        ra,
        head_office,
        branch,
        closed_org,
        sponsor,
        lsa,
        agent,
        agent2,
        manager,
        manager2,
        service_desk,
        holder,
        holder_post,
        pharmacist,
        closed_post,
    )
