"""Builds the demo world through the real services, so every row is checked and audited.

Idempotent: each thing is looked up by a stable key (RA code, ODS code, position name at an
organisation, a fixed user id per person) and created only when it has never existed. What people
then change in the demo (an ended position, a revoked right, a closed profile) is left alone.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction

from cis.authz.policy import CONSOLE, Actor
from cis.core import clock
from cis.organisations.models import Organisation, RegistrationAuthority
from cis.organisations.services import organisation_create, ra_create, ra_update
from cis.people.models import AssuranceLevel, Person, PersonKind, PersonStatus
from cis.people.services import (
    ACCESS_LIMITS,
    contact_confirm_in_person,
    person_create,
    person_verify_identity,
)
from cis.rbac.catalogue import catalogue_load
from cis.rbac.models import Position, PositionAssignment
from cis.rbac.services import assignment_create, position_create
from cis.rights.models import RightGrant
from cis.rights.services import right_grant

from . import cast

# Documents seen at each identity check, in turn: each set has a photo and a proof of address.
DOCUMENT_SETS = (
    ("passport", "utility_bill", "bank_statement"),
    ("driving_licence_photo", "council_tax", "birth_certificate"),
    ("passport", "driving_licence_photo", "p60"),
)


@dataclass
class BuildReport:
    """What one build added: nothing at all on a second run."""

    added: Counter[str] = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(self.added)

    def summary(self) -> str:
        if not self.added:
            return "The demo world is already in place: nothing to add."
        parts = [f"{count} {what}" for what, count in self.added.items()]
        return "Built the demo world: " + ", ".join(parts) + "."


def build_world(*, actor: Actor = CONSOLE) -> BuildReport:
    """Create whatever of the demo world is missing. Must run outside any transaction."""
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "Build the demo world outside a transaction: contact codes are sent on commit."
        )
    report = BuildReport()
    _ensure_catalogue(actor, report)
    ra = _ensure_ra(actor, report)
    orgs = _ensure_organisations(actor, ra, report)
    positions = _ensure_positions(actor, orgs, report)
    people = {spec.number: _ensure_person(actor, spec, ra, report) for spec in cast.STAFF}
    for spec in cast.STAFF:
        _ensure_assignments(actor, spec, people[spec.number], positions, report)
    for persona in cast.PERSONAS:
        _ensure_right(
            actor=actor,
            persona=persona,
            person=people[persona.staff_number],
            orgs=orgs,
            ra=ra,
            report=report,
        )
    return report


def _ensure_catalogue(actor: Actor, report: BuildReport) -> None:
    if not catalogue_load(actor=actor).unchanged:
        report.added["catalogue load"] += 1


def _ensure_ra(actor: Actor, report: BuildReport) -> RegistrationAuthority:
    ra = RegistrationAuthority.objects.filter(code=cast.RA_CODE).first()
    if ra is None:
        ra = ra_create(actor=actor, code=cast.RA_CODE, name=cast.RA_NAME, **cast.RA_CONTACT)
        report.added["Registration Authority"] += 1
    elif not ra.email:  # a world built before the RA published its contact details
        contact = cast.RA_CONTACT
        ra = ra_update(
            actor=actor,
            ra=ra,
            email=contact["email"],
            phone=contact["phone"],
            hours=contact["hours"],
        )
        report.added["RA contact details"] += 1
    return ra


def _ensure_organisations(
    actor: Actor, ra: RegistrationAuthority, report: BuildReport
) -> dict[str, Organisation]:
    orgs: dict[str, Organisation] = {}
    for spec in cast.ORGANISATIONS:  # parents come before their children
        org = Organisation.objects.filter(ods_code=spec.ods_code).first()
        if org is None:
            org = organisation_create(
                actor=actor,
                ods_code=spec.ods_code,
                name=spec.name,
                org_type=spec.org_type,
                serving_ra=ra,
                parent=orgs[spec.parent] if spec.parent else None,
                address=spec.address,
            )
            report.added["organisations"] += 1
        orgs[spec.ods_code] = org
    return orgs


def _ensure_positions(
    actor: Actor, orgs: dict[str, Organisation], report: BuildReport
) -> dict[tuple[str, str], Position]:
    positions: dict[tuple[str, str], Position] = {}
    for ods_code, specs in cast.POSITIONS.items():
        org = orgs[ods_code]
        for spec in specs:
            position = Position.objects.filter(organisation=org, name=spec.name).first()
            if position is None:
                position = position_create(
                    actor=actor,
                    organisation=org,
                    name=spec.name,
                    job_role_codes=spec.job_roles,
                    activity_codes=spec.activities,
                    area_of_work_code=spec.area_of_work,
                    assignable=spec.assignable,
                )
                report.added["positions"] += 1
            positions[(ods_code, spec.name)] = position
    return positions


def _ensure_person(
    actor: Actor, spec: cast.StaffSpec, ra: RegistrationAuthority, report: BuildReport
) -> Person:
    person = Person.objects.filter(user_id=spec.user_id).first()
    if person is None:
        person = person_create(
            actor=actor,
            user_id=spec.user_id,
            given_name=spec.given_name,
            family_name=spec.family_name,
            date_of_birth=spec.date_of_birth,
            registered_ra=ra,
            professional_body=spec.professional_body,
            professional_number=spec.professional_number,
            kind=spec.kind,
            # RPA and temporary-access profiles run for a limited time (their longest).
            access_ends_on=(
                clock.today() + dt.timedelta(days=ACCESS_LIMITS[PersonKind(spec.kind)])
                if spec.kind in ACCESS_LIMITS
                else None
            ),
        )
        report.added["people"] += 1
    if person.status == PersonStatus.CLOSED:
        return person
    if person.email_verified_at is None:
        _verify_contact(actor, person, "email", spec.email)
        report.added["verified emails"] += 1
    if person.mobile_verified_at is None:
        _verify_contact(actor, person, "mobile", spec.mobile)
        report.added["verified mobiles"] += 1
    person.refresh_from_db()
    if person.assurance_level < AssuranceLevel.HIGH:
        person_verify_identity(
            actor=actor,
            person=person,
            document_types=DOCUMENT_SETS[spec.number % len(DOCUMENT_SETS)],
            notes="Demo world: documents seen at the RA office.",
        )
        report.added["identity checks"] += 1
        person.refresh_from_db()
    return person


def _verify_contact(actor: Actor, person: Person, channel: str, value: str) -> None:
    """As an RA Agent does at the registration appointment: the contact is confirmed in person."""
    contact_confirm_in_person(actor=actor, person=person, channel=channel, value=value)


def _ensure_assignments(
    actor: Actor,
    spec: cast.StaffSpec,
    person: Person,
    positions: dict[tuple[str, str], Position],
    report: BuildReport,
) -> None:
    if person.status != PersonStatus.ACTIVE:
        return
    for post in spec.posts:
        position = positions[post]
        if PositionAssignment.objects.filter(person=person, position=position).exists():
            continue
        assignment_create(actor=actor, person=person, position=position, start_date=spec.since)
        report.added["position assignments"] += 1


def _staff(number: int) -> cast.StaffSpec:
    return next(spec for spec in cast.STAFF if spec.number == number)


def _ensure_right(
    *,
    actor: Actor,
    persona: cast.PersonaSpec,
    person: Person,
    orgs: dict[str, Organisation],
    ra: RegistrationAuthority,
    report: BuildReport,
) -> None:
    if persona.right is None or person.status != PersonStatus.ACTIVE:
        return
    kind, key = persona.scope
    organisation = orgs[key] if kind.startswith("org") else None
    scope_ra = ra if kind == "ra" else None
    if RightGrant.objects.filter(
        person=person, right=persona.right, organisation=organisation, ra=scope_ra
    ).exists():
        return
    right_grant(
        actor=actor,
        person=person,
        right=persona.right,
        organisation=organisation,
        include_children=kind == "org+children",
        ra=scope_ra,
        start_date=min(_staff(persona.staff_number).since, clock.today()),
    )
    report.added["rights"] += 1
