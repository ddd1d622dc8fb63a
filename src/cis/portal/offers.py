"""What the policy lets an actor offer on a person's page, where no single target says it."""

from __future__ import annotations

from django.db.models import QuerySet

from cis.authz.actions import Action
from cis.authz.policy import can
from cis.authz.targets import NewAssignment, NewGrant
from cis.people.models import Person
from cis.rbac.models import Position, PositionAssignment, PositionStatus
from cis.rbac.selectors import position_list
from cis.rights.models import Right


def offered_positions(actor: Person, person: Person) -> QuerySet[Position]:
    """The positions the policy lets this actor give this person (Sponsors: assignable ones)."""
    candidates = position_list(actor=actor).filter(status=PositionStatus.ACTIVE)
    allowed = [
        p.pk for p in candidates if can(actor, Action.ASSIGNMENT_CREATE, NewAssignment(person, p))
    ]
    return (
        position_list(actor=actor).filter(pk__in=allowed).order_by("organisation__ods_code", "name")
    )


def may_grant_some_right(
    actor: Person, person: Person, assignments: list[PositionAssignment]
) -> bool:
    """Whether the actor may grant this person anything: the lowest right where they work,
    across their RA's area, or the national service desk right."""
    candidates = [NewGrant(person, Right.SERVICE_DESK)]
    if person.registered_ra is not None:
        candidates.append(NewGrant(person, Right.LSA, ra=person.registered_ra))
    candidates.extend(
        NewGrant(person, Right.LSA, organisation=a.position.organisation) for a in assignments
    )
    return any(can(actor, Action.RIGHT_GRANT, target) for target in candidates)
