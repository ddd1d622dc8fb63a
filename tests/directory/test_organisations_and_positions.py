"""Organisations, the role catalogue, positions and assignments: rules and bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from cis.audit.models import AuditEvent
from cis.authz.policy import CONSOLE
from cis.core import clock
from cis.core.errors import Conflict, InvalidState, NotPermitted, ValidationFailed
from cis.organisations.models import Organisation, OrganisationStatus
from cis.organisations.services import organisation_close, organisation_create
from cis.people.models import PersonStatus
from cis.rbac.catalogue import catalogue_load
from cis.rbac.models import Position, PositionAssignment
from cis.rbac.services import assignment_create, assignment_end, position_create
from cis.rights.models import RightGrant
from cis.rights.services import right_grant, right_revoke
from tests.factories.directory import (
    AssignmentFactory,
    OrganisationFactory,
    PersonFactory,
    PositionFactory,
    RegistrationAuthorityFactory,
    RightGrantFactory,
)

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return (
        Organisation.objects.count(),
        Position.objects.count(),
        PositionAssignment.objects.count(),
        RightGrant.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.mark.parametrize(
    ("ods", "org_type", "message"),
    [
        ("FL M49!", "community_pharmacy", "Enter an ODS code in the correct format"),
        ("A81001", "community_pharmacy", "five characters starting with F"),
        ("FLM49", "gp_practice", "a letter and five digits"),
        ("RRKX", "nhs_trust", "three characters starting with R"),
        ("AB", "other", "3 to 6"),
    ],
)
def test_malformed_ods_codes_are_refused(ods: str, org_type: str, message: str) -> None:
    ra = RegistrationAuthorityFactory()
    before = _counts()
    with pytest.raises(ValidationFailed, match=message):
        organisation_create(actor=CONSOLE, ods_code=ods, name="X", org_type=org_type, serving_ra=ra)
    assert _counts() == before


def test_organisations_are_created_normalised_and_unique() -> None:
    ra = RegistrationAuthorityFactory()
    org = organisation_create(
        actor=CONSOLE,
        ods_code=" flm49 ",
        name="High St Pharmacy",
        org_type="community_pharmacy",
        serving_ra=ra,
    )
    assert org.ods_code == "FLM49"
    with pytest.raises(Conflict):
        organisation_create(
            actor=CONSOLE,
            ods_code="FLM49",
            name="Again",
            org_type="community_pharmacy",
            serving_ra=ra,
        )


def test_a_parent_cannot_close_before_its_children() -> None:
    parent = OrganisationFactory()
    OrganisationFactory(parent=parent, serving_ra=parent.serving_ra)
    with pytest.raises(InvalidState, match="child organisations"):
        organisation_close(actor=CONSOLE, organisation=parent)


def test_positions_take_baseline_activities_and_refuse_closed_organisations() -> None:
    catalogue_load(actor=CONSOLE)
    org = OrganisationFactory()
    position = position_create(
        actor=CONSOLE,
        organisation=org,
        name="Pharmacist",
        job_role_codes=["R8003", "R1290"],
        activity_codes=["B0264"],
    )
    assert set(position.activities.values_list("code", flat=True)) == {"B0572", "B0264"}
    with pytest.raises(ValidationFailed, match="Not in the catalogue: R9999"):
        position_create(actor=CONSOLE, organisation=org, name="Ghost", job_role_codes=["R9999"])
    closed = OrganisationFactory(status=OrganisationStatus.CLOSED)
    before = _counts()
    with pytest.raises(InvalidState, match="closed"):
        position_create(
            actor=CONSOLE, organisation=closed, name="Pharmacist", job_role_codes=["R8003"]
        )
    assert _counts() == before


def test_assignment_rules() -> None:
    position = PositionFactory()
    person = PersonFactory()
    today = clock.today()
    before = _counts()
    with pytest.raises(
        ValidationFailed, match="End date must be the same as or after the start date"
    ):
        assignment_create(
            actor=CONSOLE,
            person=person,
            position=position,
            start_date=today,
            end_date=today - dt.timedelta(days=1),
        )
    restricted = PersonFactory(status=PersonStatus.RESTRICTED)
    with pytest.raises(InvalidState, match="not been verified"):
        assignment_create(actor=CONSOLE, person=restricted, position=position)
    Organisation.objects.filter(pk=position.organisation_id).update(status="closed")
    with pytest.raises(InvalidState, match="closed"):
        assignment_create(actor=CONSOLE, person=person, position=position)
    assert _counts() == before
    Organisation.objects.filter(pk=position.organisation_id).update(status="open")
    assignment = assignment_create(actor=CONSOLE, person=person, position=position)
    with pytest.raises(Conflict):
        assignment_create(actor=CONSOLE, person=person, position=position)
    ended = assignment_end(actor=CONSOLE, assignment=assignment)
    assert ended.end_date == today


def test_a_sponsor_assigns_only_assignable_positions_and_never_to_themselves() -> None:
    org = OrganisationFactory()
    sponsor = PersonFactory()
    AssignmentFactory(person=sponsor, position=PositionFactory(organisation=org))
    RightGrantFactory(person=sponsor, right="sponsor", organisation=org)
    newcomer = PersonFactory()
    open_post = PositionFactory(organisation=org, assignable=True)
    closed_post = PositionFactory(organisation=org, assignable=False)
    a = assignment_create(actor=sponsor, person=newcomer, position=open_post)
    assert a.granted_by == sponsor
    assert (
        AuditEvent.objects.filter(action="assignment.create")
        .last()
        .rule.startswith(  # type: ignore[union-attr]
            "sponsor-assignable"
        )
    )
    with pytest.raises(NotPermitted):
        assignment_create(actor=sponsor, person=newcomer, position=closed_post)
    with pytest.raises(NotPermitted):
        assignment_create(actor=sponsor, person=sponsor, position=open_post)


def test_rights_respect_rank_scope_and_self() -> None:
    ra = RegistrationAuthorityFactory()
    org = OrganisationFactory(serving_ra=ra)
    manager, staff = PersonFactory(), PersonFactory()
    for p in (manager, staff):
        AssignmentFactory(person=p, position=PositionFactory(organisation=org))
    RightGrantFactory(person=manager, right="ra_manager", ra=ra)
    grant = right_grant(actor=manager, person=staff, right="lsa", organisation=org)
    with pytest.raises(Conflict):
        right_grant(actor=manager, person=staff, right="lsa", organisation=org)
    with pytest.raises(NotPermitted):
        right_grant(actor=manager, person=staff, right="ra_manager", ra=ra)
    with pytest.raises(NotPermitted):
        right_grant(actor=manager, person=manager, right="lsa", organisation=org)
    with pytest.raises(ValidationFailed, match="organisation or RA"):
        right_grant(actor=manager, person=staff, right="sponsor")
    with pytest.raises(ValidationFailed, match="not a CIS right"):
        right_grant(actor=manager, person=staff, right="king", organisation=org)
    right_revoke(actor=manager, grant=grant, reason="moved on")
    with pytest.raises(InvalidState):
        right_revoke(actor=manager, grant=grant)
