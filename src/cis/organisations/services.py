"""Changes to Registration Authorities and organisations."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.authz.scope import descendants
from cis.core import clock
from cis.core.errors import Conflict, InvalidState, ValidationFailed
from cis.core.validators import normalise_email, normalise_ods_code

from .models import Organisation, OrganisationStatus, OrganisationType, RegistrationAuthority


def _snapshot(org: Organisation) -> dict[str, Any]:
    return {
        "ods_code": org.ods_code,
        "name": org.name,
        "org_type": org.org_type,
        "parent": org.parent.ods_code if org.parent else None,
        "serving_ra": org.serving_ra.code,
        "status": org.status,
        "address": org.address,
        "geography": org.geography,
    }


def _ra_snapshot(ra: RegistrationAuthority) -> dict[str, Any]:
    return {
        "code": ra.code,
        "name": ra.name,
        "email": ra.email,
        "phone": ra.phone,
        "hours": ra.hours,
        "address": ra.address,
        "geographies": list(ra.geographies),
        "is_active": ra.is_active,
    }


GEOGRAPHY_RE = re.compile(r"^[A-Z0-9]{3,10}$")
PHONE_RE = re.compile(r"^\+?[0-9 ()-]{6,32}$")


def clean_geographies(codes: Sequence[str]) -> list[str]:
    """ODS health-geography codes (e.g. QWO, 02T): 3 to 10 letters and digits, each once."""
    cleaned: list[str] = []
    for raw in codes:
        code = raw.strip().upper()
        if not code:
            continue
        if not GEOGRAPHY_RE.fullmatch(code):
            raise ValidationFailed(
                f"'{raw}' is not an ODS geography code: use 3 to 10 letters and digits, e.g. QWO.",
                field="geographies",
            )
        if code not in cleaned:
            cleaned.append(code)
    return sorted(cleaned)


def _clean_contact(
    *, email: str | None, phone: str | None, hours: str | None, address: str | None
) -> dict[str, str]:
    """The RA's published contact details; each may be left blank, none may be malformed."""
    out: dict[str, str] = {}
    if email is not None:
        out["email"] = normalise_email(email) if email.strip() else ""
    if phone is not None:
        phone = " ".join(phone.split())
        if phone and not PHONE_RE.fullmatch(phone):
            raise ValidationFailed(
                f"'{phone}' is not a telephone number: use digits, spaces and an optional +.",
                field="phone",
            )
        out["phone"] = phone
    if hours is not None:
        hours = " ".join(hours.split())
        if len(hours) > 200:
            raise ValidationFailed(
                "The opening hours are too long (200 characters).", field="hours"
            )
        out["hours"] = hours
    if address is not None:
        address = " ".join(address.split())
        if len(address) > 300:
            raise ValidationFailed("The address is too long (300 characters).", field="address")
        out["address"] = address
    return out


def _check_geographies_free(codes: list[str], ra: RegistrationAuthority | None) -> None:
    """One area per geography: an import must know which RA serves a new organisation."""
    others = RegistrationAuthority.objects.filter(is_active=True)
    if ra is not None:
        others = others.exclude(pk=ra.pk)
    for other in others:
        taken = sorted(set(codes) & set(other.geographies))
        if taken:
            raise Conflict(
                f"{', '.join(taken)} already belong{'s' if len(taken) == 1 else ''} to the area "
                f"of {other}; take {'it' if len(taken) == 1 else 'them'} out of that area first.",
                field="geographies",
            )


@transaction.atomic
def ra_create(
    *,
    actor: Actor,
    code: str,
    name: str,
    email: str = "",
    phone: str = "",
    hours: str = "",
    address: str = "",
    geographies: Sequence[str] = (),
) -> RegistrationAuthority:
    decision = require(actor, Action.RA_MANAGE)
    code = code.strip().upper()
    if not code or len(code) > 16 or not code.replace("-", "").isalnum():
        raise ValidationFailed("An RA code is 1 to 16 letters, digits or hyphens.", field="code")
    if not name.strip():
        raise ValidationFailed("Enter the RA's name.", field="name")
    contact = _clean_contact(email=email, phone=phone, hours=hours, address=address)
    area = clean_geographies(geographies)
    if RegistrationAuthority.objects.filter(code=code).exists():
        raise Conflict(f"An RA with code {code} already exists.", field="code")
    _check_geographies_free(area, None)
    ra = RegistrationAuthority.objects.create(
        code=code, name=" ".join(name.split()), geographies=area, **contact
    )
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.RA_MANAGE,
        target_type="ra",
        target_ref=ra.code,
        after=_ra_snapshot(ra),
    )
    return ra


@transaction.atomic
def ra_update(
    *,
    actor: Actor,
    ra: RegistrationAuthority,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    hours: str | None = None,
    address: str | None = None,
    geographies: Sequence[str] | None = None,
    reassign: bool = False,
) -> RegistrationAuthority:
    """Change an RA's name, contact details or area (the service desk).

    With `reassign`, the open organisations in the geographies newly added to its area move to
    this RA (each move audited); without it, only organisations created later are routed here.
    """
    ra = RegistrationAuthority.objects.select_for_update().get(pk=ra.pk)
    decision = require(actor, Action.RA_MANAGE, ra)
    before = _ra_snapshot(ra)
    if name is not None:
        if not name.strip():
            raise ValidationFailed("Enter the RA's name.", field="name")
        ra.name = " ".join(name.split())
    for key, value in _clean_contact(
        email=email, phone=phone, hours=hours, address=address
    ).items():
        setattr(ra, key, value)
    added: list[str] = []
    if geographies is not None:
        area = clean_geographies(geographies)
        _check_geographies_free(area, ra)
        added = sorted(set(area) - set(ra.geographies))
        ra.geographies = area
    ra.save()
    moved = 0
    if reassign and added:
        for org in (
            Organisation.objects.select_for_update(of=("self",))
            .select_related("parent", "serving_ra")
            .filter(geography__in=added, status=OrganisationStatus.OPEN)
            .exclude(serving_ra=ra)
        ):
            org_before = _snapshot(org)
            org.serving_ra = ra
            org.save(update_fields=["serving_ra", "updated_at"])
            moved += 1
            record(
                actor=actor,
                rule=decision.rule,
                action=Action.ORGANISATION_MOVE,
                target_type="organisation",
                target_ref=org.ods_code,
                organisation_ref=org.ods_code,
                before=org_before,
                after=_snapshot(org),
            )
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.RA_MANAGE,
        target_type="ra",
        target_ref=ra.code,
        before=before,
        after={**_ra_snapshot(ra), "organisations_moved": moved},
    )
    return ra


def ra_for_geography(geography: str) -> RegistrationAuthority | None:
    """The active RA whose area takes in an ODS health geography, if any."""
    code = geography.strip().upper()
    if not code:
        return None
    for ra in RegistrationAuthority.objects.filter(is_active=True):
        if code in ra.geographies:
            return ra
    return None


def _open_parent(parent: Organisation | None) -> Organisation | None:
    """The parent as it is now, locked so that it cannot close under a new child."""
    if parent is None:
        return None
    fresh = Organisation.objects.select_for_update().get(pk=parent.pk)
    if not fresh.is_open:
        raise InvalidState(
            f"{fresh} is closed, so it cannot have organisations under it.", field="parent"
        )
    return fresh


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
    geography: str = "",
) -> Organisation:
    decision = require(actor, Action.ORGANISATION_CREATE, serving_ra)
    if org_type not in OrganisationType.values:
        raise ValidationFailed(f"'{org_type}' is not a type of organisation.", field="org_type")
    code = normalise_ods_code(ods_code, org_type)
    if not name.strip():
        raise ValidationFailed("Enter the organisation's name.", field="name")
    if Organisation.objects.filter(ods_code=code).exists():
        raise Conflict(f"An organisation with ODS code {code} already exists.", field="ods_code")
    parent = _open_parent(parent)
    org = Organisation.objects.create(
        ods_code=code,
        name=" ".join(name.split()),
        org_type=org_type,
        serving_ra=serving_ra,
        parent=parent,
        address=" ".join(address.split()),
        geography=clean_geographies([geography])[0] if geography.strip() else "",
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


def _locked_org(organisation: Organisation) -> Organisation:
    return (
        Organisation.objects.select_for_update(of=("self",))
        .select_related("parent", "serving_ra")
        .get(pk=organisation.pk)
    )


def _audit_org(
    actor: Actor, rule: str, action: Action, org: Organisation, before: Any, *, reason: str = ""
) -> None:
    reason = " ".join(reason.split())[:500]
    record(
        actor=actor,
        rule=rule,
        action=action,
        target_type="organisation",
        target_ref=org.ods_code,
        organisation_ref=org.ods_code,
        before=before,
        after={**_snapshot(org), **({"reason": reason} if reason else {})},
    )


@transaction.atomic
def organisation_update(
    *,
    actor: Actor,
    organisation: Organisation,
    name: str | None = None,
    address: str | None = None,
    geography: str | None = None,
) -> Organisation:
    """Correct an organisation's name, address or health geography."""
    org = _locked_org(organisation)
    decision = require(actor, Action.ORGANISATION_UPDATE, org)
    before = _snapshot(org)
    if name is not None:
        if not name.strip():
            raise ValidationFailed("Enter the organisation's name.", field="name")
        org.name = " ".join(name.split())
    if address is not None:
        cleaned = " ".join(address.split())
        if len(cleaned) > 300:
            raise ValidationFailed("The address is too long (300 characters).", field="address")
        org.address = cleaned
    if geography is not None:
        org.geography = clean_geographies([geography])[0] if geography.strip() else ""
    if _snapshot(org) == before:
        raise ValidationFailed("Nothing to change: the details are the same.")
    org.save()
    _audit_org(actor, decision.rule, Action.ORGANISATION_UPDATE, org, before)
    return org


@transaction.atomic
def organisation_close(
    *, actor: Actor, organisation: Organisation, on: dt.date | None = None, reason: str = ""
) -> Organisation:
    """Close it: its positions can no longer be held, so nobody works there through CIS."""
    org = _locked_org(organisation)
    decision = require(actor, Action.ORGANISATION_CLOSE, org)
    if not org.is_open:
        raise InvalidState(f"{org} is already closed.")
    open_children = org.children.filter(status=OrganisationStatus.OPEN)
    if open_children.exists():
        codes = ", ".join(open_children.values_list("ods_code", flat=True))
        raise InvalidState(f"Close its child organisations first: {codes}.")
    before = _snapshot(org)
    if on is not None and on > clock.today():
        raise ValidationFailed("The closing date cannot be in the future.", field="on")
    org.status = OrganisationStatus.CLOSED
    org.closed_on = on or clock.today()
    org.save()
    _audit_org(actor, decision.rule, Action.ORGANISATION_CLOSE, org, before, reason=reason)
    return org


@transaction.atomic
def organisation_reopen(
    *, actor: Actor, organisation: Organisation, reason: str = ""
) -> Organisation:
    """Reopen a closed organisation (its parent must be open); its positions count again."""
    org = _locked_org(organisation)
    decision = require(actor, Action.ORGANISATION_REOPEN, org)
    if org.is_open:
        raise InvalidState(f"{org} is not closed.")
    if org.parent is not None and not org.parent.is_open:
        raise InvalidState(f"Reopen {org.parent} first: {org} is part of it.")
    before = _snapshot(org)
    org.status = OrganisationStatus.OPEN
    org.closed_on = None
    org.save()
    _audit_org(actor, decision.rule, Action.ORGANISATION_REOPEN, org, before, reason=reason)
    return org


_UNCHANGED: Any = object()


@transaction.atomic
def organisation_move(
    *,
    actor: Actor,
    organisation: Organisation,
    parent: Organisation | None = _UNCHANGED,
    serving_ra: RegistrationAuthority | None = None,
) -> Organisation:
    """Put an organisation under another parent (or none), or (service desk) under another RA.

    The new parent must be open, in the actor's reach as well, and not the organisation itself
    or one below it. Moving to another RA takes it out of one RA's area into another's, which
    only the service desk may do.
    """
    org = _locked_org(organisation)
    decision = require(actor, Action.ORGANISATION_MOVE, org)
    before = _snapshot(org)
    if parent is not _UNCHANGED and parent != org.parent:
        if parent is not None:
            require(actor, Action.ORGANISATION_MOVE, parent)
            if parent.pk == org.pk or parent.pk in descendants([org.pk]):
                raise InvalidState(
                    f"{org} cannot be put under {parent}: {parent} is part of {org}.",
                    field="parent",
                )
            parent = _open_parent(parent)
        org.parent = parent
    if serving_ra is not None and serving_ra != org.serving_ra:
        require(actor, Action.RA_MANAGE, serving_ra)
        if not serving_ra.is_active:
            raise InvalidState(f"{serving_ra} is no longer active.", field="serving_ra")
        org.serving_ra = serving_ra
    if _snapshot(org) == before:
        raise ValidationFailed("Nothing to change: it is already there.")
    org.save()
    _audit_org(actor, decision.rule, Action.ORGANISATION_MOVE, org, before)
    return org
