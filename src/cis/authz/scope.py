"""What each CIS right covers: the organisations (and RAs) an actor's grants reach today."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q

from cis.core import clock
from cis.organisations.models import Organisation, OrganisationStatus
from cis.people.models import Person, PersonStatus
from cis.rbac.models import PositionAssignment
from cis.rights.models import Right, RightGrant

# What each right carries: the higher rights include the lower ones (DESIGN §2).
INCLUDES: dict[Right, frozenset[Right]] = {
    Right.LSA: frozenset({Right.LSA}),
    Right.SPONSOR: frozenset({Right.LSA, Right.SPONSOR}),
    Right.ID_CHECKER: frozenset({Right.ID_CHECKER}),
    Right.RA_AGENT: frozenset({Right.LSA, Right.SPONSOR, Right.ID_CHECKER, Right.RA_AGENT}),
    Right.RA_AGENT_ADVANCED: frozenset(
        {Right.LSA, Right.SPONSOR, Right.ID_CHECKER, Right.RA_AGENT, Right.RA_AGENT_ADVANCED}
    ),
    Right.RA_MANAGER: frozenset(
        {
            Right.LSA,
            Right.SPONSOR,
            Right.ID_CHECKER,
            Right.RA_AGENT,
            Right.RA_AGENT_ADVANCED,
            Right.RA_MANAGER,
        }
    ),
    Right.SERVICE_DESK: frozenset({Right.SERVICE_DESK}),
}


def effective_grants(actor: Person, on: dt.date | None = None) -> list[RightGrant]:
    """Grants in force today for an active actor; a closed or restricted actor has none."""
    if actor.status != PersonStatus.ACTIVE:
        return []
    day = on or clock.today()
    return list(
        RightGrant.objects.filter(person=actor, revoked_at__isnull=True, start_date__lte=day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
        .select_related("organisation", "ra")
        .order_by("id")
    )


def descendants(org_ids: Iterable[int]) -> set[int]:
    """The organisations given and every organisation below them."""
    found = set(org_ids)
    frontier = set(found)
    while frontier:
        children = set(
            Organisation.objects.filter(parent_id__in=frontier).values_list("id", flat=True)
        )
        frontier = children - found
        found |= frontier
    return found


@dataclass
class GrantScope:
    """The reach of one grant: every organisation (national) or a set, plus RAs wholly covered."""

    grant: RightGrant
    national: bool = False
    org_ids: set[int] = field(default_factory=set)
    ra_ids: set[int] = field(default_factory=set)

    @property
    def rule(self) -> str:
        return f"{self.grant.right}:grant#{self.grant.id}"

    def covers_org(self, org_id: int | None) -> bool:
        return org_id is not None and (self.national or org_id in self.org_ids)


def grant_scope(grant: RightGrant) -> GrantScope:
    if grant.right == Right.SERVICE_DESK and grant.organisation_id is None and grant.ra_id is None:
        return GrantScope(grant, national=True)
    if grant.ra_id is not None:
        ids = set(
            Organisation.objects.filter(serving_ra_id=grant.ra_id).values_list("id", flat=True)
        )
        return GrantScope(grant, org_ids=ids, ra_ids={grant.ra_id})
    if grant.organisation_id is not None:
        ids = (
            descendants([grant.organisation_id])
            if grant.include_children
            else {grant.organisation_id}
        )
        return GrantScope(grant, org_ids=ids)
    return GrantScope(grant)


def active_assignments(on: dt.date | None = None) -> Q:
    """Assignments in force on a day, at a position and organisation that are still open."""
    day = on or clock.today()
    return (
        Q(start_date__lte=day)
        & (Q(end_date__isnull=True) | Q(end_date__gte=day))
        & Q(position__status="active")
        & Q(position__organisation__status=OrganisationStatus.OPEN)
    )


def person_org_ids(person: Person) -> set[int]:
    """Where a person holds an active position today."""
    return set(
        PositionAssignment.objects.filter(active_assignments(), person=person).values_list(
            "position__organisation_id", flat=True
        )
    )
