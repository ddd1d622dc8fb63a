"""Changes to the role catalogue, to positions, and to who holds them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.authz.targets import NewAssignment
from cis.core import clock
from cis.core.errors import Conflict, InvalidState, ValidationFailed
from cis.core.validators import check_date_range
from cis.organisations.models import Organisation
from cis.people.models import Person, PersonStatus

from .models import (
    Activity,
    AreaOfWork,
    JobRole,
    Position,
    PositionAssignment,
    PositionStatus,
)


def _codes(model: Any, codes: Sequence[str], what: str, *, keep: Iterable[str] = ()) -> list[Any]:
    """Catalogue entries by code, in use (or retired but already held: `keep`)."""
    wanted = list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))
    held = set(keep)
    found = {
        o.code: o for o in model.objects.filter(code__in=wanted) if not o.retired or o.code in held
    }
    missing = [c for c in wanted if c not in found]
    if missing:
        retired = set(
            model.objects.filter(code__in=missing, retired=True).values_list("code", flat=True)
        )
        reasons = [f"{c} (retired)" if c in retired else c for c in missing]
        raise ValidationFailed(
            f"Not in the catalogue: {', '.join(reasons)}.", field=what.replace(" ", "_")
        )
    return [found[c] for c in wanted]


def _position_snapshot(position: Position) -> dict[str, Any]:
    return {
        "name": position.name,
        "organisation": position.organisation.ods_code,
        "job_roles": sorted(position.job_roles.values_list("code", flat=True)),
        "activities": sorted(position.activities.values_list("code", flat=True)),
        "workgroups": position.workgroups,
        "assignable": position.assignable,
        "status": position.status,
    }


@transaction.atomic
def position_create(
    *,
    actor: Actor,
    organisation: Organisation,
    name: str,
    job_role_codes: Sequence[str],
    activity_codes: Sequence[str] = (),
    workgroups: Sequence[str] = (),
    area_of_work_code: str = "",
    assignable: bool = False,
) -> Position:
    org = Organisation.objects.select_for_update().get(pk=organisation.pk)
    decision = require(actor, Action.POSITION_CREATE, org)
    if not org.is_open:
        raise InvalidState(f"{org} is closed, so it cannot have new positions.")
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("Enter the position's name.", field="name")
    roles = _codes(JobRole, job_role_codes, "job roles")
    if not roles:
        raise ValidationFailed("A position needs at least one job role.", field="job_roles")
    extra = _codes(Activity, activity_codes, "activities")
    area = _codes(AreaOfWork, [area_of_work_code], "area of work")[0] if area_of_work_code else None
    if Position.objects.filter(organisation=org, name__iexact=name).exists():
        raise Conflict(f"{org.ods_code} already has a position called '{name}'.")
    position = Position.objects.create(
        organisation=org,
        name=name,
        area_of_work=area,
        workgroups=sorted({w.strip() for w in workgroups if w.strip()}),
        assignable=assignable,
    )
    position.job_roles.set(roles)
    baseline = Activity.objects.filter(job_roles__in=roles, retired=False)
    position.activities.set({*baseline, *extra})
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.POSITION_CREATE,
        target_type="position",
        target_ref=str(position.pk),
        organisation_ref=org.ods_code,
        after=_position_snapshot(position),
    )
    return position


@transaction.atomic
def position_update(
    *,
    actor: Actor,
    position: Position,
    name: str | None = None,
    job_role_codes: Sequence[str] | None = None,
    activity_codes: Sequence[str] | None = None,
    workgroups: Sequence[str] | None = None,
    area_of_work_code: str | None = None,
    assignable: bool | None = None,
) -> Position:
    """Edit a position: what its holders may do changes for all of them at once.

    Job roles and activities are chosen from the catalogue as it is now, except that a role or
    activity the position already has stays allowed after the catalogue retires it.
    """
    position = (
        Position.objects.select_for_update().select_related("organisation").get(pk=position.pk)
    )
    decision = require(actor, Action.POSITION_UPDATE, position)
    if position.status != PositionStatus.ACTIVE:
        raise InvalidState(f"The position '{position.name}' is retired and cannot be changed.")
    before = _position_snapshot(position)
    if name is not None:
        cleaned = " ".join(name.split())
        if not cleaned:
            raise ValidationFailed("Enter the position's name.", field="name")
        clash = (
            Position.objects.filter(organisation=position.organisation, name__iexact=cleaned)
            .exclude(pk=position.pk)
            .first()
        )
        if clash is not None:
            raise Conflict(
                f"{position.organisation.ods_code} already has a position called '{clash.name}'.",
                field="name",
            )
        position.name = cleaned
    if assignable is not None:
        position.assignable = assignable
    if workgroups is not None:
        position.workgroups = sorted({w.strip() for w in workgroups if w.strip()})
    if area_of_work_code is not None:
        position.area_of_work = (
            _codes(AreaOfWork, [area_of_work_code], "area of work")[0]
            if area_of_work_code.strip()
            else None
        )
    roles = activities = None
    if job_role_codes is not None:
        roles = _codes(
            JobRole,
            job_role_codes,
            "job roles",
            keep=position.job_roles.values_list("code", flat=True),
        )
        if not roles:
            raise ValidationFailed("A position needs at least one job role.", field="job_roles")
    if activity_codes is not None:
        activities = _codes(
            Activity,
            activity_codes,
            "activities",
            keep=position.activities.values_list("code", flat=True),
        )
    position.save()
    if roles is not None:
        position.job_roles.set(roles)
    if activities is not None:
        position.activities.set(activities)
    after = _position_snapshot(position)
    if after == before:
        raise ValidationFailed("Nothing to change: the position is already like this.")
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.POSITION_UPDATE,
        target_type="position",
        target_ref=str(position.pk),
        organisation_ref=position.organisation.ods_code,
        before=before,
        after=after,
    )
    return position


@transaction.atomic
def position_retire(*, actor: Actor, position: Position, reason: str = "") -> Position:
    """Retire a position: nobody holds it from today, and it cannot be assigned again.

    Its current and future assignments end today, each audited; past ones stay as history.
    """
    position = (
        Position.objects.select_for_update().select_related("organisation").get(pk=position.pk)
    )
    decision = require(actor, Action.POSITION_RETIRE, position)
    if position.status == PositionStatus.RETIRED:
        raise InvalidState(f"The position '{position.name}' is already retired.")
    before = _position_snapshot(position)
    today = clock.today()
    ended = []
    for assignment in (
        PositionAssignment.objects.select_for_update()
        .select_related("person", "position__organisation")
        .filter(position=position)
        .exclude(end_date__lt=today)
    ):
        a_before = _assignment_snapshot(assignment)
        # An assignment that had not started yet ends before it begins: on its start date.
        assignment.end_date = max(today, assignment.start_date)
        assignment.ended_by = actor if isinstance(actor, Person) else None
        assignment.save(update_fields=["end_date", "ended_by", "updated_at"])
        ended.append(assignment.pk)
        record(
            actor=actor,
            rule=decision.rule,
            action=Action.ASSIGNMENT_END,
            target_type="assignment",
            target_ref=str(assignment.pk),
            organisation_ref=position.organisation.ods_code,
            before=a_before,
            after={**_assignment_snapshot(assignment), "because": "position retired"},
        )
    position.status = PositionStatus.RETIRED
    position.save(update_fields=["status", "updated_at"])
    reason = " ".join(reason.split())[:500]
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.POSITION_RETIRE,
        target_type="position",
        target_ref=str(position.pk),
        organisation_ref=position.organisation.ods_code,
        before=before,
        after={
            **_position_snapshot(position),
            "assignments_ended": ended,
            **({"reason": reason} if reason else {}),
        },
    )
    return position


def _assignment_snapshot(a: PositionAssignment) -> dict[str, Any]:
    return {
        "person": a.person.user_id,
        "position": a.position_id,
        "position_name": a.position.name,
        "start_date": a.start_date,
        "end_date": a.end_date,
    }


@transaction.atomic
def assignment_create(
    *,
    actor: Actor,
    person: Person,
    position: Position,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    request_ref: str = "",
) -> PositionAssignment:
    person = Person.objects.select_for_update().get(pk=person.pk)
    position = Position.objects.select_related("organisation").get(pk=position.pk)
    decision = require(actor, Action.ASSIGNMENT_CREATE, NewAssignment(person, position))
    start = start_date or clock.today()
    if person.access_ends_on is not None:  # RPA and temporary access: never past their end
        end_date = end_date or person.access_ends_on
        if end_date > person.access_ends_on:
            raise ValidationFailed(
                f"{person.full_name}'s access ends on {person.access_ends_on:%d %B %Y}: the "
                "position cannot run past it.",
                field="end_date",
            )
    check_date_range(start, end_date)
    if not position.organisation.is_open:
        raise InvalidState(f"{position.organisation} is closed: its positions cannot be assigned.")
    if position.status != PositionStatus.ACTIVE:
        raise InvalidState(f"The position '{position.name}' is retired.")
    if person.status == PersonStatus.RESTRICTED:
        raise InvalidState(
            f"{person.full_name}'s identity has not been verified, so they cannot hold a position."
        )
    overlapping = PositionAssignment.objects.filter(person=person, position=position).exclude(
        end_date__lt=start
    )
    if end_date is not None:
        overlapping = overlapping.filter(start_date__lte=end_date)
    if overlapping.exists():
        raise Conflict(f"{person.full_name} already holds '{position.name}' over those dates.")
    assignment = PositionAssignment.objects.create(
        person=person,
        position=position,
        start_date=start,
        end_date=end_date,
        granted_by=actor if isinstance(actor, Person) else None,
        request_ref=request_ref,
    )
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.ASSIGNMENT_CREATE,
        target_type="assignment",
        target_ref=str(assignment.pk),
        organisation_ref=position.organisation.ods_code,
        after=_assignment_snapshot(assignment),
        request_ref=request_ref,
    )
    return assignment


@transaction.atomic
def assignment_end(
    *,
    actor: Actor,
    assignment: PositionAssignment,
    end_date: dt.date | None = None,
    request_ref: str = "",
) -> PositionAssignment:
    assignment = (
        PositionAssignment.objects.select_for_update()
        .select_related("person", "position__organisation")
        .get(pk=assignment.pk)
    )
    decision = require(actor, Action.ASSIGNMENT_END, assignment)
    today = clock.today()
    end = end_date or today
    if assignment.end_date is not None and assignment.end_date < today:
        raise InvalidState("This position has already ended.")
    check_date_range(assignment.start_date, end)
    before = _assignment_snapshot(assignment)
    assignment.end_date = end
    assignment.ended_by = actor if isinstance(actor, Person) else None
    assignment.save()
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.ASSIGNMENT_END,
        target_type="assignment",
        target_ref=str(assignment.pk),
        organisation_ref=assignment.position.organisation.ods_code,
        before=before,
        after=_assignment_snapshot(assignment),
        request_ref=request_ref,
    )
    return assignment
