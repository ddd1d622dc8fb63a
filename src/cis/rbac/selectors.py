"""Reads about positions and assignments, through the policy's visible() filter."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from cis.authz.actions import Action
from cis.authz.policy import Actor
from cis.authz.scope import active_assignments
from cis.authz.scoping import visible
from cis.organisations.models import Organisation
from cis.people.models import Person

from .models import Activity, JobRole, Position, PositionAssignment


def position_list(*, actor: Actor, organisation: Organisation | None = None) -> QuerySet[Position]:
    positions = visible(actor, Action.POSITION_VIEW, Position.objects.all())
    if organisation is not None:
        positions = positions.filter(organisation=organisation)
    return positions.select_related("organisation", "area_of_work").prefetch_related(
        "job_roles", "activities"
    )


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


def catalogue_roles() -> QuerySet[JobRole]:
    return JobRole.objects.filter(retired=False).prefetch_related("baseline_activities")


def catalogue_activities() -> QuerySet[Activity]:
    return Activity.objects.filter(retired=False)
