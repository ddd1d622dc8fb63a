"""Reads about positions and assignments, through the policy's visible() filter."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.authz.scope import active_assignments
from cis.authz.scoping import visible
from cis.core.errors import NotFound
from cis.organisations.models import Organisation
from cis.people.models import Person

from .catalogue import KIND_WORDS, KINDS
from .models import (
    Activity,
    CatalogueVersion,
    JobRole,
    Position,
    PositionAssignment,
    PositionStatus,
)


def position_list(*, actor: Actor, organisation: Organisation | None = None) -> QuerySet[Position]:
    positions = visible(actor, Action.POSITION_VIEW, Position.objects.all())
    if organisation is not None:
        positions = positions.filter(organisation=organisation)
    return positions.select_related("organisation", "area_of_work").prefetch_related(
        "job_roles", "activities"
    )


def position_get(*, actor: Actor, pk: int, organisation: Organisation | None = None) -> Position:
    """One position the actor may see (at `organisation`, when given); NotFound with one message
    whether it is absent or out of sight."""
    found = position_list(actor=actor, organisation=organisation).filter(pk=pk).first()
    if found is None:
        raise NotFound("No such position, or not one you can see.")
    return found


def assignment_get(*, actor: Actor, pk: int, person: Person | None = None) -> PositionAssignment:
    """One position assignment the actor may see (of `person`, when given); NotFound with one
    message whether it is absent or out of sight."""
    found = (
        assignment_list(actor=actor, person=person)
        .select_related("granted_by", "ended_by")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound("No such position assignment, or not one you can see.")
    return found


def assignment_list(
    *,
    actor: Actor,
    person: Person | None = None,
    organisation: Organisation | None = None,
    current_only: bool = False,
) -> QuerySet[PositionAssignment]:
    rows = visible(actor, Action.ASSIGNMENT_VIEW, PositionAssignment.objects.all())
    if person is not None:
        rows = rows.filter(person=person)
    if organisation is not None:
        rows = rows.filter(position__organisation=organisation)
    if current_only:
        rows = rows.filter(active_assignments())
    return rows.select_related("person", "position__organisation").prefetch_related(
        Prefetch("position__job_roles", queryset=JobRole.objects.all())
    )


def catalogue_list(
    *, actor: Actor, kind: str, query: str = "", include_retired: bool = False
) -> QuerySet[Any]:
    """Job roles, activities or areas of work, with how many active positions use each."""
    require(actor, Action.CATALOGUE_VIEW)
    model = KINDS[kind]
    rows: QuerySet[Any] = model.objects.all()
    if not include_retired:
        rows = rows.filter(retired=False)
    if query.strip():
        q = query.strip()
        rows = rows.filter(Q(code__iexact=q) | Q(name__icontains=q))
    if model is JobRole:
        rows = rows.prefetch_related("baseline_activities").annotate(
            positions_using=Count(
                "positions", filter=Q(positions__status=PositionStatus.ACTIVE), distinct=True
            )
        )
    elif model is Activity:
        rows = rows.prefetch_related("includes").annotate(
            positions_using=Count(
                "positions", filter=Q(positions__status=PositionStatus.ACTIVE), distinct=True
            )
        )
    return rows.select_related("version").order_by("code")


def catalogue_entry_get(*, actor: Actor, kind: str, code: str) -> Any:
    entry = (
        catalogue_list(actor=actor, kind=kind, include_retired=True)
        .filter(code=code.strip().upper())
        .first()
    )
    if entry is None:
        raise NotFound(f"There is no {KIND_WORDS[kind]} {code.strip().upper()} in the catalogue.")
    return entry


def catalogue_versions(*, actor: Actor) -> QuerySet[CatalogueVersion]:
    require(actor, Action.CATALOGUE_VIEW)
    return CatalogueVersion.objects.order_by("-number")
