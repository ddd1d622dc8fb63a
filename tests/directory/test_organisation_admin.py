"""Organisations and RAs over their life: update, move, close, reopen; RA contacts and areas."""

from __future__ import annotations

import pytest

from cis.audit.models import AuditEvent
from cis.authz.policy import CONSOLE
from cis.core.errors import Conflict, InvalidState, NotPermitted, ValidationFailed
from cis.organisations.models import Organisation, OrganisationStatus, RegistrationAuthority
from cis.organisations.services import (
    organisation_close,
    organisation_create,
    organisation_move,
    organisation_reopen,
    organisation_update,
    ra_create,
    ra_for_geography,
    ra_update,
)
from cis.rights.models import Right
from tests.factories.directory import PersonFactory, RightGrantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ras() -> tuple[RegistrationAuthority, RegistrationAuthority]:
    north = ra_create(actor=CONSOLE, code="RA-N", name="North", geographies=["QWO"])
    south = ra_create(actor=CONSOLE, code="RA-S", name="South", geographies=["QHM"])
    return north, south


def _org(code: str, ra: RegistrationAuthority, **kw: object) -> Organisation:
    kw.setdefault("org_type", "community_pharmacy")
    return organisation_create(
        actor=CONSOLE, ods_code=code, name=f"Org {code}", serving_ra=ra, **kw
    )  # type: ignore[arg-type]


def _manager(ra: RegistrationAuthority) -> object:
    person = PersonFactory()
    RightGrantFactory(person=person, right=Right.RA_MANAGER, ra=ra)
    return person


def test_ra_contact_details_are_checked_and_audited(ras: tuple[RegistrationAuthority, ...]) -> None:
    north, _ = ras
    updated = ra_update(
        actor=CONSOLE,
        ra=north,
        email=" RA.North@Example.NHS.uk ",
        phone="0113 496 0000",
        hours="Monday to Friday,  9am to 5pm",
    )
    assert updated.email == "RA.North@example.nhs.uk"
    assert updated.hours == "Monday to Friday, 9am to 5pm"
    event = AuditEvent.objects.filter(action="ra.manage", target_ref="RA-N").last()
    assert event is not None and event.after["phone"] == "0113 496 0000"
    assert event.before["phone"] == ""
    for bad in ({"email": "not-an-email"}, {"phone": "call me"}, {"geographies": ["Q!"]}):
        before = AuditEvent.objects.count()
        with pytest.raises(ValidationFailed):
            ra_update(actor=CONSOLE, ra=north, **bad)  # type: ignore[arg-type]
        assert AuditEvent.objects.count() == before
    north.refresh_from_db()
    assert north.email == "RA.North@example.nhs.uk"


def test_a_geography_belongs_to_one_ra(ras: tuple[RegistrationAuthority, ...]) -> None:
    north, south = ras
    with pytest.raises(Conflict, match="QWO already belongs to the area of North"):
        ra_update(actor=CONSOLE, ra=south, geographies=["QHM", "qwo"])
    assert ra_for_geography("qwo") == north
    assert ra_for_geography("QHM") == south
    assert ra_for_geography("QXX") is None


def test_changing_an_area_can_move_its_open_organisations(
    ras: tuple[RegistrationAuthority, ...],
) -> None:
    north, south = ras
    moving = _org("FAA01", south, geography="QKK")
    closed = _org("FAA02", south, geography="QKK")
    organisation_close(actor=CONSOLE, organisation=closed)
    staying = _org("FAA03", south, geography="QHM")
    ra_update(actor=CONSOLE, ra=north, geographies=["QWO", "QKK"], reassign=True)
    moving.refresh_from_db(), closed.refresh_from_db(), staying.refresh_from_db()
    assert moving.serving_ra == north
    assert closed.serving_ra == south  # closed organisations stay where they closed
    assert staying.serving_ra == south
    moved = AuditEvent.objects.get(action="organisation.move", target_ref="FAA01")
    assert moved.before["serving_ra"] == "RA-S" and moved.after["serving_ra"] == "RA-N"


def test_only_the_service_desk_manages_ras(ras: tuple[RegistrationAuthority, ...]) -> None:
    north, _ = ras
    with pytest.raises(NotPermitted):
        ra_update(actor=_manager(north), ra=north, phone="0113 496 0001")  # type: ignore[arg-type]


def test_update_close_reopen(ras: tuple[RegistrationAuthority, ...]) -> None:
    north, _ = ras
    head = _org("PHQ01", north, org_type="pharmacy_head_office")
    branch = _org("FBR01", north, parent=head)
    manager = _manager(north)
    org = organisation_update(
        actor=manager, organisation=branch, name=" Renamed  Branch ", geography="qwo"
    )  # type: ignore[arg-type]
    assert (org.name, org.geography) == ("Renamed Branch", "QWO")
    with pytest.raises(ValidationFailed, match="Nothing to change"):
        organisation_update(actor=manager, organisation=branch, name="Renamed Branch")  # type: ignore[arg-type]
    with pytest.raises(InvalidState, match="Close its child organisations first: FBR01"):
        organisation_close(actor=manager, organisation=head)  # type: ignore[arg-type]
    organisation_close(actor=manager, organisation=branch)  # type: ignore[arg-type]
    organisation_close(actor=manager, organisation=head)  # type: ignore[arg-type]
    with pytest.raises(InvalidState, match="Reopen Org PHQ01 .* first"):
        organisation_reopen(actor=manager, organisation=branch)  # type: ignore[arg-type]
    organisation_reopen(actor=manager, organisation=head)  # type: ignore[arg-type]
    reopened = organisation_reopen(actor=manager, organisation=branch)  # type: ignore[arg-type]
    assert reopened.status == OrganisationStatus.OPEN and reopened.closed_on is None
    with pytest.raises(InvalidState, match="is not closed"):
        organisation_reopen(actor=manager, organisation=branch)  # type: ignore[arg-type]
    actions = list(AuditEvent.objects.filter(target_ref="FBR01").values_list("action", flat=True))
    assert actions == [
        "organisation.create",
        "organisation.update",
        "organisation.close",
        "organisation.reopen",
    ]


def test_moves_check_the_new_parent_and_rank(ras: tuple[RegistrationAuthority, ...]) -> None:
    north, south = ras
    head = _org("PHQ01", north, org_type="pharmacy_head_office")
    other_head = _org("PHQ02", north, org_type="pharmacy_head_office")
    branch = _org("FBR01", north, parent=head)
    far = _org("FFA01", south, org_type="pharmacy_head_office")
    manager = _manager(north)
    moved = organisation_move(actor=manager, organisation=branch, parent=other_head)  # type: ignore[arg-type]
    assert moved.parent == other_head
    with pytest.raises(InvalidState, match="is part of"):
        organisation_move(actor=manager, organisation=other_head, parent=branch)  # type: ignore[arg-type]
    with pytest.raises(NotPermitted):  # the new parent is outside the manager's area
        organisation_move(actor=manager, organisation=branch, parent=far)  # type: ignore[arg-type]
    with pytest.raises(NotPermitted):  # another RA: the service desk's decision
        organisation_move(actor=manager, organisation=branch, serving_ra=south)  # type: ignore[arg-type]
    organisation_close(actor=CONSOLE, organisation=head)
    with pytest.raises(InvalidState, match="is closed"):
        organisation_move(actor=manager, organisation=branch, parent=head)  # type: ignore[arg-type]
    alone = organisation_move(actor=CONSOLE, organisation=branch, parent=None, serving_ra=south)
    assert alone.parent is None and alone.serving_ra == south
    assert Organisation.objects.get(ods_code="FBR01").serving_ra == south
