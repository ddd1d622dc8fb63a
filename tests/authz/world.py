"""A small world for the permission matrix: one actor per right, and every kind of target."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cis.core import clock
from cis.organisations.models import Organisation, OrganisationType, RegistrationAuthority
from cis.people.models import Person, PersonStatus
from cis.rbac.models import Position, PositionAssignment
from cis.rights.models import Right, RightGrant
from tests.factories.directory import (
    AssignmentFactory,
    OrganisationFactory,
    PersonFactory,
    PositionFactory,
    RegistrationAuthorityFactory,
    RightGrantFactory,
)

# Each actor: the right it holds and how that right is scoped.
ACTORS: dict[str, tuple[Right | None, str]] = {
    "no_right": (None, ""),
    "lsa": (Right.LSA, "org"),
    "lsa_children": (Right.LSA, "org+children"),
    "sponsor": (Right.SPONSOR, "org"),
    "sponsor_children": (Right.SPONSOR, "org+children"),
    "id_checker": (Right.ID_CHECKER, "ra"),
    "ra_agent": (Right.RA_AGENT, "ra"),
    "ra_agent_advanced": (Right.RA_AGENT_ADVANCED, "ra"),
    "ra_manager": (Right.RA_MANAGER, "ra"),
    "service_desk": (Right.SERVICE_DESK, "national"),
    "ended_lsa": (Right.LSA, "org+ended"),
}

TARGETS = ("in_scope", "child_org", "out_of_scope", "ended_assignment", "closed_person", "self")


@dataclass
class World:
    ra: RegistrationAuthority
    other_ra: RegistrationAuthority
    head_office: Organisation
    branch: Organisation
    elsewhere: Organisation
    actors: dict[str, Person] = field(default_factory=dict)
    targets: dict[str, Person] = field(default_factory=dict)
    home: dict[str, Organisation] = field(default_factory=dict)
    assignment: dict[str, PositionAssignment] = field(default_factory=dict)
    grant_held: dict[str, RightGrant] = field(default_factory=dict)


def build_world() -> World:
    ra = RegistrationAuthorityFactory(code="RA-A", name="RA A")
    other_ra = RegistrationAuthorityFactory(code="RA-B", name="RA B")
    head_office = OrganisationFactory(
        ods_code="FHO01",
        name="Chain head office",
        org_type=OrganisationType.PHARMACY_HEAD_OFFICE,
        serving_ra=ra,
    )
    branch = OrganisationFactory(
        ods_code="FBR01", name="Chain branch", serving_ra=ra, parent=head_office
    )
    elsewhere = OrganisationFactory(ods_code="FEL01", name="Elsewhere", serving_ra=other_ra)
    world = World(ra, other_ra, head_office, branch, elsewhere)
    staff_position = PositionFactory(organisation=head_office, name="Staff")
    past = clock.today() - dt.timedelta(days=400)

    for name, (right, scope) in ACTORS.items():
        # Registered at the other RA, so only positions put them in anyone's scope.
        actor = PersonFactory(registered_ra=other_ra, given_name=name, family_name="Actor")
        AssignmentFactory(person=actor, position=staff_position)
        world.actors[name] = actor
        if right is None:
            continue
        kwargs: dict[str, object] = {"person": actor, "right": right}
        if scope.startswith("org"):
            kwargs["organisation"] = head_office
            kwargs["include_children"] = "children" in scope
        elif scope == "ra":
            kwargs["ra"] = ra
        if scope.endswith("ended"):
            kwargs["start_date"] = past
            kwargs["end_date"] = clock.today() - dt.timedelta(days=1)
        RightGrantFactory(**kwargs)

    def target(name: str, org: Organisation, *, ended: bool = False, closed: bool = False) -> None:
        person = PersonFactory(
            registered_ra=other_ra,
            given_name=name,
            family_name="Target",
            status=PersonStatus.CLOSED if closed else PersonStatus.ACTIVE,
        )
        position = PositionFactory(organisation=org, name=f"Post for {name}")
        assignment = AssignmentFactory(
            person=person,
            position=position,
            start_date=past,
            end_date=clock.today() - dt.timedelta(days=1) if ended else None,
        )
        world.targets[name] = person
        world.home[name] = org
        world.assignment[name] = assignment
        world.grant_held[name] = RightGrantFactory(person=person, right=Right.LSA, organisation=org)

    target("in_scope", head_office)
    target("child_org", branch)
    target("out_of_scope", elsewhere)
    target("ended_assignment", head_office, ended=True)
    target("closed_person", head_office, closed=True)
    return world


def new_position(org: Organisation, *, assignable: bool) -> Position:
    suffix = "assignable" if assignable else "restricted"
    count = Position.objects.filter(organisation=org).count()
    position: Position = PositionFactory(
        organisation=org, name=f"New {suffix} post {count}", assignable=assignable
    )
    return position
