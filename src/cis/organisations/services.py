"""Changes to Registration Authorities and organisations."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.core import clock
from cis.core.errors import Conflict, InvalidState, ValidationFailed
from cis.core.validators import normalise_ods_code

from .models import Organisation, OrganisationStatus, OrganisationType, RegistrationAuthority


def _snapshot(org: Organisation) -> dict[str, Any]:
    return {
        "ods_code": org.ods_code,
        "name": org.name,
        "org_type": org.org_type,
        "parent": org.parent.ods_code if org.parent else None,
        "serving_ra": org.serving_ra.code,
        "status": org.status,
    }


@transaction.atomic
def ra_create(*, actor: Actor, code: str, name: str) -> RegistrationAuthority:
    decision = require(actor, Action.RA_MANAGE)
    code = code.strip().upper()
    if not code or len(code) > 16 or not code.replace("-", "").isalnum():
        raise ValidationFailed("An RA code is 1 to 16 letters, digits or hyphens.", field="code")
    if not name.strip():
        raise ValidationFailed("Enter the RA's name.", field="name")
    if RegistrationAuthority.objects.filter(code=code).exists():
        raise Conflict(f"An RA with code {code} already exists.")
    ra = RegistrationAuthority.objects.create(code=code, name=name.strip())
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.RA_MANAGE,
        target_type="ra",
        target_ref=ra.code,
        after={"code": ra.code, "name": ra.name},
    )
    return ra


@transaction.atomic
def organisation_create(
    *,
    actor: Actor,
    ods_code: str,
    name: str,
    org_type: str,
    serving_ra: RegistrationAuthority,
    parent: Organisation | None = None,
    address: str = "",
) -> Organisation:
    decision = require(actor, Action.ORGANISATION_CREATE, serving_ra)
    if org_type not in OrganisationType.values:
        raise ValidationFailed(f"'{org_type}' is not a type of organisation.", field="org_type")
    code = normalise_ods_code(ods_code, org_type)
    if not name.strip():
        raise ValidationFailed("Enter the organisation's name.", field="name")
    if Organisation.objects.filter(ods_code=code).exists():
        raise Conflict(f"An organisation with ODS code {code} already exists.")
    if parent is not None and not parent.is_open:
        raise InvalidState(f"{parent} is closed, so it cannot have new child organisations.")
    org = Organisation.objects.create(
        ods_code=code,
        name=name.strip(),
        org_type=org_type,
        serving_ra=serving_ra,
        parent=parent,
        address=address.strip(),
    )
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.ORGANISATION_CREATE,
        target_type="organisation",
        target_ref=org.ods_code,
        organisation_ref=org.ods_code,
        after=_snapshot(org),
    )
    return org


@transaction.atomic
def organisation_update(
    *, actor: Actor, organisation: Organisation, name: str | None = None, address: str | None = None
) -> Organisation:
    org = Organisation.objects.select_for_update().get(pk=organisation.pk)
    decision = require(actor, Action.ORGANISATION_UPDATE, org)
    before = _snapshot(org)
    if name is not None:
        if not name.strip():
            raise ValidationFailed("Enter the organisation's name.", field="name")
        org.name = name.strip()
    if address is not None:
        org.address = address.strip()
    org.save()
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.ORGANISATION_UPDATE,
        target_type="organisation",
        target_ref=org.ods_code,
        organisation_ref=org.ods_code,
        before=before,
        after=_snapshot(org),
    )
    return org


@transaction.atomic
def organisation_close(*, actor: Actor, organisation: Organisation) -> Organisation:
    org = Organisation.objects.select_for_update().get(pk=organisation.pk)
    decision = require(actor, Action.ORGANISATION_CLOSE, org)
    if not org.is_open:
        raise InvalidState(f"{org} is already closed.")
    open_children = org.children.filter(status=OrganisationStatus.OPEN)
    if open_children.exists():
        codes = ", ".join(open_children.values_list("ods_code", flat=True))
        raise InvalidState(f"Close its child organisations first: {codes}.")
    before = _snapshot(org)
    org.status = OrganisationStatus.CLOSED
    org.closed_on = clock.today()
    org.save()
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.ORGANISATION_CLOSE,
        target_type="organisation",
        target_ref=org.ods_code,
        organisation_ref=org.ods_code,
        before=before,
        after=_snapshot(org),
    )
    return org
