"""Granting and revoking CIS rights, under the rank and scope rules of the policy."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Q

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.authz.targets import NewGrant
from cis.core import clock
from cis.core.errors import Conflict, InvalidState, ValidationFailed
from cis.core.validators import check_date_range
from cis.organisations.models import Organisation, RegistrationAuthority
from cis.people.models import Person, PersonStatus

from .models import Right, RightGrant


def _snapshot(grant: RightGrant) -> dict[str, Any]:
    return {
        "person": grant.person.user_id,
        "right": grant.right,
        "organisation": grant.organisation.ods_code if grant.organisation else None,
        "include_children": grant.include_children,
        "ra": grant.ra.code if grant.ra else None,
        "start_date": grant.start_date,
        "end_date": grant.end_date,
        "revoked": grant.revoked_at is not None,
    }


@transaction.atomic
def right_grant(
    *,
    actor: Actor,
    person: Person,
    right: str,
    organisation: Organisation | None = None,
    include_children: bool = False,
    ra: RegistrationAuthority | None = None,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    request_ref: str = "",
) -> RightGrant:
    if right not in Right.values:
        raise ValidationFailed(f"'{right}' is not a CIS right.", field="right")
    the_right = Right(right)
    if organisation is not None and ra is not None:
        raise ValidationFailed("Scope a right to an organisation or to an RA, not both.")
    if the_right == Right.SERVICE_DESK:
        if organisation is not None or ra is not None:
            raise ValidationFailed("The service desk right is national: give no scope.")
    elif organisation is None and ra is None:
        raise ValidationFailed("Choose the organisation or RA this right covers.", field="scope")
    person = Person.objects.select_for_update().get(pk=person.pk)
    target = NewGrant(person, the_right, organisation, include_children, ra)
    decision = require(actor, Action.RIGHT_GRANT, target)
    if person.status != PersonStatus.ACTIVE:
        raise InvalidState(f"{person.full_name}'s identity must be verified before a right.")
    if organisation is not None and not organisation.is_open:
        raise InvalidState(f"{organisation} is closed.")
    start = start_date or clock.today()
    check_date_range(start, end_date)
    today = clock.today()
    existing = RightGrant.objects.filter(
        person=person,
        right=the_right,
        organisation=organisation,
        ra=ra,
        revoked_at__isnull=True,
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
    if existing.exists():
        raise Conflict(f"{person.full_name} already holds this right with this scope.")
    grant = RightGrant.objects.create(
        person=person,
        right=the_right,
        organisation=organisation,
        include_children=include_children if organisation is not None else False,
        ra=ra,
        start_date=start,
        end_date=end_date,
        granted_by=actor if isinstance(actor, Person) else None,
        request_ref=request_ref,
    )
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.RIGHT_GRANT,
        target_type="right",
        target_ref=str(grant.pk),
        organisation_ref=organisation.ods_code if organisation else "",
        after=_snapshot(grant),
        request_ref=request_ref,
    )
    return grant


@transaction.atomic
def right_revoke(
    *, actor: Actor, grant: RightGrant, reason: str = "", request_ref: str = ""
) -> RightGrant:
    grant = (
        RightGrant.objects.select_for_update(of=("self",))
        .select_related("person", "organisation", "ra")
        .get(pk=grant.pk)
    )
    decision = require(actor, Action.RIGHT_REVOKE, grant)
    if grant.revoked_at is not None:
        raise InvalidState("This right has already been revoked.")
    before = _snapshot(grant)
    grant.revoked_at = clock.now()
    grant.revoked_by = actor if isinstance(actor, Person) else None
    grant.save()
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.RIGHT_REVOKE,
        target_type="right",
        target_ref=str(grant.pk),
        organisation_ref=grant.organisation.ods_code if grant.organisation else "",
        before=before,
        after={**_snapshot(grant), "reason": reason},
        request_ref=request_ref,
    )
    return grant
