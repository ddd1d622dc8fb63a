"""Reads about CIS rights, through the policy's visible() filter."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from cis.authz.actions import Action
from cis.authz.policy import Actor
from cis.authz.scoping import visible
from cis.core import clock
from cis.core.errors import NotFound
from cis.people.models import Person

from .models import RightGrant


def grant_list(
    *, actor: Actor, person: Person | None = None, current_only: bool = True
) -> QuerySet[RightGrant]:
    rows = visible(actor, Action.RIGHT_VIEW, RightGrant.objects.all())
    if person is not None:
        rows = rows.filter(person=person)
    if current_only:
        today = clock.today()
        rows = rows.filter(revoked_at__isnull=True, start_date__lte=today).filter(
            Q(end_date__isnull=True) | Q(end_date__gte=today)
        )
    return rows.select_related("person", "organisation", "ra")


def grant_get(
    *, actor: Actor, pk: int, person: Person | None = None, current_only: bool = False
) -> RightGrant:
    """One right the actor may see (of `person`, and in force, when asked); NotFound with one
    message whether it is absent or out of sight."""
    found = (
        grant_list(actor=actor, person=person, current_only=current_only)
        .select_related("granted_by", "revoked_by")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound("No such right, or not one you can see.")
    return found
