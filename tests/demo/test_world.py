"""The demo world: its shape, its personas, and that building it twice adds nothing."""

from __future__ import annotations

import re

import pytest

from cis.audit.models import AuditEvent
from cis.audit.verify import verify
from cis.authz.policy import CONSOLE
from cis.authz.scope import active_assignments
from cis.demo import cast
from cis.demo.world import build_world
from cis.organisations.models import Organisation, OrganisationType, RegistrationAuthority
from cis.people.models import (
    AssuranceLevel,
    ContactVerification,
    IdentityCheck,
    Person,
    PersonStatus,
)
from cis.rbac.models import Position, PositionAssignment
from cis.rights.models import Right, RightGrant
from tests.cli.conftest import counts

# Contact codes are sent on commit, so the world is built in real transactions.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world() -> None:
    build_world()


def test_the_world_has_the_shape_issue_2_asks_for(world: None) -> None:
    """One build, checked part by part (each part is a function below)."""
    _one_ra_a_chain_of_five_branches_three_independents_and_a_gp_practice()
    _about_forty_verified_staff_with_positions()
    _professional_registrations()
    _positions_come_from_the_catalogue_and_some_are_assignable()
    _a_persona_for_each_right_with_the_right_scope()
    _card_holder_personas()
    _built_by_the_console_through_the_services_and_audited()


def _one_ra_a_chain_of_five_branches_three_independents_and_a_gp_practice() -> None:
    ra = RegistrationAuthority.objects.get()
    assert (ra.code, ra.name) == ("RA-NP", "Northern Pharmacy Registration Authority")
    assert not Organisation.objects.exclude(serving_ra=ra).exists()
    head_office = Organisation.objects.get(org_type=OrganisationType.PHARMACY_HEAD_OFFICE)
    branches = Organisation.objects.filter(parent=head_office)
    assert branches.count() == 5
    assert all(b.org_type == OrganisationType.COMMUNITY_PHARMACY for b in branches)
    independents = Organisation.objects.filter(
        org_type=OrganisationType.COMMUNITY_PHARMACY, parent__isnull=True
    )
    assert independents.count() == 3
    for pharmacy in [*branches, *independents]:
        assert re.fullmatch(r"F[A-Z0-9]{4}", pharmacy.ods_code)
    gp = Organisation.objects.get(org_type=OrganisationType.GP_PRACTICE)
    assert re.fullmatch(r"[A-Z][0-9]{5}", gp.ods_code)
    assert Organisation.objects.filter(org_type=OrganisationType.RA_HOST).count() == 1


def _about_forty_verified_staff_with_positions() -> None:
    staff = Person.objects.all()
    assert 38 <= staff.count() <= 50  # issue 2 asked for about forty; issue 10 added three
    for person in staff:
        assert re.fullmatch(r"1000000000[0-9]{2}", person.user_id)
        assert person.status == PersonStatus.ACTIVE
        assert person.assurance_level == AssuranceLevel.HIGH
        assert person.email.endswith("@example.nhs.uk")
        assert person.email_verified_at is not None
        assert re.fullmatch(r"\+447700900[0-9]{3}", person.mobile)
        assert person.mobile_verified_at is not None
        assert person.date_of_birth is not None
        assert PositionAssignment.objects.filter(active_assignments(), person=person).exists()
    assert len({p.date_of_birth for p in staff}) == staff.count()
    assert IdentityCheck.objects.count() == staff.count()


def _professional_registrations() -> None:
    pharmacists = Person.objects.filter(assignments__position__name="Pharmacist").distinct()
    assert pharmacists.count() == 9
    assert all(p.professional_body == "GPhC" for p in pharmacists)
    assert all(re.fullmatch(r"[0-9]{7}", p.professional_number) for p in pharmacists)
    gps = Person.objects.filter(assignments__position__name="GP")
    assert {p.professional_body for p in gps} == {"GMC"}
    nurse = Person.objects.get(assignments__position__name="Practice Nurse")
    assert nurse.professional_body == "NMC"


def _positions_come_from_the_catalogue_and_some_are_assignable() -> None:
    names = set(Position.objects.values_list("name", flat=True))
    for wanted in (
        "Pharmacist",
        "Pharmacy Technician",
        "Dispenser",
        "Counter Assistant",
        "GP",
        "Practice Nurse",
        "Receptionist",
        "Practice Manager",
    ):
        assert wanted in names
    assert Position.objects.filter(assignable=True).exists()
    assert not Position.objects.filter(name="Pharmacist", assignable=True).exists()
    for position in Position.objects.all():
        assert position.job_roles.exists()
    gp = Position.objects.get(name="GP")
    assert sorted(gp.job_roles.values_list("code", flat=True)) == ["R0260", "R8000"]


def _a_persona_for_each_right_with_the_right_scope() -> None:
    grants = {g.right: g for g in RightGrant.objects.select_related("organisation", "ra")}
    assert set(grants) == set(Right.values)
    lsa = grants[Right.LSA]
    assert lsa.organisation is not None
    assert lsa.organisation.parent is not None  # a branch
    assert not lsa.include_children
    sponsor = grants[Right.SPONSOR]
    assert sponsor.organisation is not None
    assert sponsor.organisation.org_type == OrganisationType.PHARMACY_HEAD_OFFICE
    assert sponsor.include_children
    for right in (Right.ID_CHECKER, Right.RA_AGENT, Right.RA_AGENT_ADVANCED, Right.RA_MANAGER):
        assert grants[right].ra is not None
        assert grants[right].organisation is None
    desk = grants[Right.SERVICE_DESK]
    assert desk.ra is None
    assert desk.organisation is None


def _card_holder_personas() -> None:
    holders = [p for p in cast.PERSONAS if p.right is None]
    people = {p.staff_number: Person.objects.get(user_id=_user_id(p.staff_number)) for p in holders}
    orgs = {
        number: set(
            PositionAssignment.objects.filter(active_assignments(), person=person).values_list(
                "position__organisation__org_type", "position__organisation__ods_code"
            )
        )
        for number, person in people.items()
    }
    kinds = [{t for t, _ in held} for held in orgs.values()]
    assert {OrganisationType.COMMUNITY_PHARMACY} in kinds
    assert {OrganisationType.GP_PRACTICE} in kinds
    assert any(len(held) == 2 for held in orgs.values())  # two positions at two organisations
    for person in people.values():
        assert not RightGrant.objects.filter(person=person).exists()


def _user_id(number: int) -> str:
    return next(s.user_id for s in cast.STAFF if s.number == number)


def _built_by_the_console_through_the_services_and_audited() -> None:
    result = verify()
    assert result.intact, result.problem
    assert result.events == AuditEvent.objects.count()
    assert set(AuditEvent.objects.values_list("actor_ref", flat=True)) == {CONSOLE.audit_ref}
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "catalogue.manage",
        "ra.manage",
        "organisation.create",
        "position.create",
        "person.create",
        "person.confirm_contact",
        "person.verify_identity",
        "assignment.create",
        "right.grant",
    } <= actions
    assert AuditEvent.objects.filter(action="person.create").count() == Person.objects.count()


def test_building_twice_adds_nothing(world: None) -> None:
    before = counts()
    contact_checks = ContactVerification.objects.count()
    report = build_world()
    assert not report.changed
    assert report.summary() == "The demo world is already in place: nothing to add."
    assert counts() == before
    assert ContactVerification.objects.count() == contact_checks
    assert verify().intact


def test_the_builder_leaves_what_people_changed_in_the_demo(world: None) -> None:
    from cis.rights.services import right_revoke

    grant = RightGrant.objects.get(right=Right.LSA)
    right_revoke(actor=CONSOLE, grant=grant, reason="Demo: tried revoking")
    before = counts()
    assert not build_world().changed
    assert counts() == before
    assert RightGrant.objects.get(right=Right.LSA).revoked_at is not None


def test_a_partly_built_world_is_completed(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that stopped after the first ten people is finished by the next one."""
    with monkeypatch.context() as partial:
        partial.setattr(cast, "STAFF", cast.STAFF[:10])
        partial.setattr(cast, "PERSONAS", ())
        build_world()
    assert Person.objects.count() == 10
    report = build_world()
    assert report.added["people"] == len(cast.STAFF) - 10
    assert report.added["rights"] == len([p for p in cast.PERSONAS if p.right])
    assert "organisations" not in report.added
    assert not build_world().changed


def test_the_ra_publishes_its_contact_details_and_a_world_built_without_them_gains_them(
    world: None,
) -> None:
    """Request pages name who to contact at the RA, so the demo's RA has contact details."""
    ra = RegistrationAuthority.objects.get(code=cast.RA_CODE)
    assert (ra.email, ra.phone, ra.hours) == (
        cast.RA_CONTACT["email"],
        cast.RA_CONTACT["phone"],
        cast.RA_CONTACT["hours"],
    )
    RegistrationAuthority.objects.filter(pk=ra.pk).update(email="", phone="", hours="")
    report = build_world()
    assert report.added["RA contact details"] == 1
    ra.refresh_from_db()
    assert ra.phone == cast.RA_CONTACT["phone"]
    assert verify().intact
