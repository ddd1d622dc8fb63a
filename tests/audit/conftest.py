"""The audit viewer's world: two RAs' organisations, their people, and events about each."""

from __future__ import annotations

import pytest
from django.db import transaction

from cis.audit.models import AuditEvent
from cis.audit.trail import record
from cis.authz.policy import CONSOLE
from cis.rights.models import Right
from tests.factories.directory import (
    AssignmentFactory,
    OrganisationFactory,
    PersonFactory,
    PositionFactory,
    RegistrationAuthorityFactory,
    RightGrantFactory,
)


@pytest.fixture
def world() -> dict[str, object]:
    ra_a = RegistrationAuthorityFactory(code="RA-A")
    ra_b = RegistrationAuthorityFactory(code="RA-B")
    here = OrganisationFactory(ods_code="FAA01", serving_ra=ra_a)
    there = OrganisationFactory(ods_code="FBB01", serving_ra=ra_b)
    staff_here = PersonFactory(given_name="Jack", family_name="Pearson", registered_ra=ra_b)
    AssignmentFactory(person=staff_here, position=PositionFactory(organisation=here))
    new_here = PersonFactory(registered_ra=ra_a, status="restricted")
    staff_there = PersonFactory(registered_ra=ra_b)
    AssignmentFactory(person=staff_there, position=PositionFactory(organisation=there))
    manager = PersonFactory(given_name="Margaret", family_name="Whitfield", registered_ra=ra_a)
    AssignmentFactory(person=manager, position=PositionFactory(organisation=here))
    RightGrantFactory(person=manager, right=Right.RA_MANAGER, ra=ra_a)
    desk = PersonFactory(registered_ra=ra_b)
    AssignmentFactory(person=desk, position=PositionFactory(organisation=there))
    RightGrantFactory(person=desk, right=Right.SERVICE_DESK)
    lsa = PersonFactory(registered_ra=ra_a)
    AssignmentFactory(person=lsa, position=PositionFactory(organisation=here))
    RightGrantFactory(person=lsa, right=Right.LSA, organisation=here)

    def event(actor: object, action: str, **kw: object) -> AuditEvent:
        with transaction.atomic():
            seq = record(actor=actor, rule="r", action=action, **kw)  # type: ignore[arg-type]
        return AuditEvent.objects.get(seq=seq)

    events = {
        "card_here": event(
            manager, "card.unlock_assisted", target_type="smartcard", target_ref="CHIP1",
            organisation_ref="FAA01", after={"holder": staff_here.user_id, "step": "started"},
        ),
        "registered_here": event(
            CONSOLE, "person.create", target_type="person", target_ref=new_here.user_id
        ),
        "card_there": event(
            desk, "card.cancel", target_type="smartcard", target_ref="CHIP2",
            organisation_ref="FBB01", after={"holder": staff_there.user_id},
        ),
        "right_there": event(
            desk, "right.grant", target_type="right", target_ref="9", organisation_ref="FBB01",
            after={"person": staff_there.user_id, "right": "lsa"}, request_ref="REQ-000042",
        ),
        "catalogue": event(CONSOLE, "catalogue.manage", target_type="catalogue", target_ref="x"),
    }  # fmt: skip
    return {
        "manager": manager, "desk": desk, "lsa": lsa, "staff_here": staff_here,
        "new_here": new_here, "staff_there": staff_there, "events": events,
    }  # fmt: skip
