"""Changes to the role catalogue, to positions, and to who holds them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.authz.targets import NewAssignment
from cis.core import clock
from cis.core.errors import Conflict, InvalidState, NotFound, ValidationFailed
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

CATALOGUE_FILE = Path(__file__).parent / "data" / "catalogue.json"


@dataclass(frozen=True)
class CatalogueLoad:
    version: str
    created: int
    updated: int
    retired: int


def _read_catalogue(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise NotFound(f"No catalogue file at {path}.") from None
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"The catalogue file is not valid JSON: {exc}.") from None
    for key in ("version", "activities", "job_roles", "areas_of_work"):
        if key not in data:
            raise ValidationFailed(f"The catalogue file has no '{key}'.")
    known = {a["code"] for a in data["activities"]}
    for role in data["job_roles"]:
        missing = set(role.get("baseline", [])) - known
        if missing:
            raise ValidationFailed(
                f"Job role {role['code']} names unknown activities: {', '.join(sorted(missing))}."
            )
    return dict(data)


@transaction.atomic
def catalogue_load(*, actor: Actor, path: Path = CATALOGUE_FILE) -> CatalogueLoad:
    """Upsert the catalogue from its file; entries gone from the file are retired, not deleted."""
    decision = require(actor, Action.CATALOGUE_MANAGE)
    data = _read_catalogue(path)
    created = updated = retired = 0

    def upsert(model: Any, entry: dict[str, Any], **extra: Any) -> Any:
        nonlocal created, updated
        obj, was_created = model.objects.update_or_create(
            code=entry["code"],
            defaults={
                "name": entry["name"],
                "illustrative": bool(entry.get("illustrative", True)),
                "retired": False,
                **extra,
            },
        )
        created += was_created
        updated += not was_created
        return obj

    for entry in data["areas_of_work"]:
        upsert(AreaOfWork, entry)
    activities = {entry["code"]: upsert(Activity, entry) for entry in data["activities"]}
    for entry in data["job_roles"]:
        role = upsert(JobRole, entry, sector_code=entry["sector"], group_code=entry["group"])
        role.baseline_activities.set([activities[c] for c in entry.get("baseline", [])])
    for model, key in (
        (AreaOfWork, "areas_of_work"),
        (Activity, "activities"),
        (JobRole, "job_roles"),
    ):
        codes = {e["code"] for e in data[key]}
        retired += model.objects.exclude(code__in=codes).filter(retired=False).update(retired=True)
    result = CatalogueLoad(str(data["version"]), created, updated, retired)
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.CATALOGUE_MANAGE,
        target_type="catalogue",
        target_ref=result.version,
        after={"created": created, "updated": updated, "retired": retired},
    )
    return result


def _codes(model: Any, codes: Sequence[str], what: str) -> list[Any]:
    wanted = [c.strip().upper() for c in codes if c.strip()]
    found = {o.code: o for o in model.objects.filter(code__in=wanted, retired=False)}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise ValidationFailed(
            f"Unknown {what}: {', '.join(missing)}.", field=what.replace(" ", "_")
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
    activity_codes: Sequence[str] | None = None,
    assignable: bool | None = None,
    retire: bool = False,
) -> Position:
    position = (
        Position.objects.select_for_update().select_related("organisation").get(pk=position.pk)
    )
    decision = require(actor, Action.POSITION_UPDATE, position)
    before = _position_snapshot(position)
    if name is not None:
        cleaned = " ".join(name.split())
        if not cleaned:
            raise ValidationFailed("Enter the position's name.", field="name")
        position.name = cleaned
    if assignable is not None:
        position.assignable = assignable
    if retire:
        position.status = PositionStatus.RETIRED
    position.save()
    if activity_codes is not None:
        position.activities.set(_codes(Activity, activity_codes, "activities"))
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.POSITION_UPDATE,
        target_type="position",
        target_ref=str(position.pk),
        organisation_ref=position.organisation.ods_code,
        before=before,
        after=_position_snapshot(position),
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
