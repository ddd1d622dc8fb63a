"""Table rows: each record with how it reads today and what the actor may do to it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cis.core import clock
from cis.rbac.models import PositionAssignment
from cis.rights.models import RightGrant


@dataclass(frozen=True)
class AssignmentRow:
    assignment: PositionAssignment
    state: str
    can_end: bool = False


def assignment_state(assignment: PositionAssignment) -> str:
    today = clock.today()
    if assignment.end_date is not None and assignment.end_date < today:
        return "Ended"
    if assignment.start_date > today:
        return "Starts later"
    if not assignment.position.organisation.is_open:
        return "Organisation closed"
    return "Current"


def assignment_rows(
    assignments: Iterable[PositionAssignment],
    can_end: Callable[[PositionAssignment], bool] | None = None,
) -> list[AssignmentRow]:
    rows = []
    for a in assignments:
        state = assignment_state(a)
        endable = state != "Ended" and can_end is not None and can_end(a)
        rows.append(AssignmentRow(a, state, endable))
    return rows


@dataclass(frozen=True)
class GrantRow:
    grant: RightGrant
    can_revoke: bool = False


def grant_rows(
    grants: Iterable[RightGrant], can_revoke: Callable[[RightGrant], bool] | None = None
) -> list[GrantRow]:
    return [GrantRow(g, can_revoke is not None and can_revoke(g)) for g in grants]
