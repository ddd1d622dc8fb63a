"""Making an approved request's change, through the services that own each part of the directory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cis.authz.policy import Actor
from cis.core.errors import InvalidState, NotFound, ValidationFailed
from cis.organisations.models import Organisation, RegistrationAuthority
from cis.people import services as people
from cis.people.models import Person, PersonStatus
from cis.rbac import services as rbac
from cis.rbac.models import Position, PositionAssignment
from cis.rights import services as rights
from cis.rights.models import RightGrant

from . import schemas
from .models import Request
from .schemas import load
from .states import CARD_TYPES, RequestType


@dataclass(frozen=True)
class IdentityEvidence:
    """What the RA saw face to face when registering someone: document types and a photo."""

    document_types: Sequence[str]
    photo: bytes | None = None
    checked_on: dt.date | None = None
    notes: str = ""


@dataclass
class Outcome:
    """What applying did: a reference to the thing made or changed, and words for the history."""

    result_ref: str
    summary: str
    subject: Person | None = None
    follow_up: list[str] = field(default_factory=list)
    # What was asked for and not done (an approval in part), in words for the history.
    dropped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ApplyContext:
    actor: Actor
    request: Request
    identity: IdentityEvidence | None = None
    acknowledged_duplicates: Sequence[str] = ()
    # Why the approver gives less than was asked; without it, nothing asked for is dropped.
    partial_reason: str = ""


def refuse_dropping(ctx: ApplyContext, missing: list[str]) -> list[str]:
    """Refuse an approval that would leave out part of what was asked, unless it is in part."""
    if missing and not ctx.partial_reason:
        raise ValidationFailed(
            f"Approving this as it stands would drop what was asked for: {'; '.join(missing)}. "
            "Give everything that was asked, or approve in part and say why.",
            field="partial_reason",
        )
    return missing


def _subject(ctx: ApplyContext) -> Person:
    subject = ctx.request.subject
    if subject is None:
        raise InvalidState(f"Request {ctx.request.ref} has no subject.")
    return subject


def _register(ctx: ApplyContext) -> Outcome:
    p = load(ctx.request, schemas.PersonRegister)
    org = Organisation.objects.get(ods_code=p.ods_code)
    if not org.is_open:
        raise InvalidState(f"{org} has closed since this request was raised.")
    ra: RegistrationAuthority = ctx.request.ra
    person = people.person_create(
        actor=ctx.actor,
        given_name=p.given_name,
        family_name=p.family_name,
        date_of_birth=p.date_of_birth,
        registered_ra=ra,
        email=p.email,
        mobile=p.mobile,
        professional_body=p.professional_body,
        professional_number=p.professional_number,
        acknowledged_duplicates=ctx.acknowledged_duplicates,
    )
    follow_up: list[str] = []
    dropped: list[str] = []
    summary = f"Created {person.full_name} ({person.user_id})"
    if ctx.identity is not None:
        if not ctx.identity.photo:
            raise ValidationFailed(
                "Take or upload a photo of the person: it is part of the identity check.",
                field="identity.photo",
            )
        people.person_verify_identity(
            actor=ctx.actor,
            person=person,
            document_types=ctx.identity.document_types,
            photo=ctx.identity.photo,
            checked_on=ctx.identity.checked_on,
            notes=ctx.identity.notes,
        )
        person.refresh_from_db()
        summary += ", identity verified face to face"
        if p.position_id:
            position = Position.objects.get(pk=p.position_id)
            rbac.assignment_create(
                actor=ctx.actor, person=person, position=position, request_ref=ctx.request.ref
            )
            summary += f", and assigned '{position.name}'"
    else:
        if p.position_id:
            dropped = refuse_dropping(
                ctx,
                [
                    f"the position '{p.position_name or ''}' at {org.ods_code} (a position "
                    "needs the identity check recorded at approval: documents seen and a photo)"
                ],
            )
        follow_up.append(
            "Their identity has not been verified yet: the profile stays restricted (no card, "
            "no position) until an ID Checker records a face-to-face check."
        )
    return Outcome(f"person:{person.user_id}", summary + ".", person, follow_up, dropped)


def _card(ctx: ApplyContext) -> Outcome:
    # Card issue happens at a workstation with the card in a reader; the approval authorises it,
    # and the card operation that carries it out marks the request applied.
    subject = _subject(ctx)
    if ctx.request.request_type == RequestType.CARD_RENEW:
        return Outcome(
            f"card-authorised:{subject.user_id}",
            f"Renewal authorised for {subject.full_name}; an RA Agent renews the certificate with "
            "them present, and this request closes when the new certificate is on the card.",
        )
    return Outcome(
        f"card-authorised:{subject.user_id}",
        f"Card issue authorised for {subject.full_name}; the card is issued at an RA workstation, "
        "and this request closes when it is.",
    )


def _position_add(ctx: ApplyContext) -> Outcome:
    p = load(ctx.request, schemas.PositionAdd)
    position = Position.objects.select_related("organisation").filter(pk=p.position_id).first()
    if position is None:
        raise NotFound("The position in this request no longer exists.")
    assignment = rbac.assignment_create(
        actor=ctx.actor,
        person=_subject(ctx),
        position=position,
        start_date=p.start_date,
        end_date=p.end_date,
        request_ref=ctx.request.ref,
    )
    return Outcome(f"assignment:{assignment.pk}", f"Assigned '{position.name}'.")


def _position_end(ctx: ApplyContext) -> Outcome:
    p = load(ctx.request, schemas.PositionEnd)
    assignment = PositionAssignment.objects.filter(pk=p.assignment_id).first()
    if assignment is None:
        raise NotFound("The position assignment in this request no longer exists.")
    rbac.assignment_end(
        actor=ctx.actor,
        assignment=assignment,
        end_date=p.end_date,
        request_ref=ctx.request.ref,
    )
    return Outcome(f"assignment:{assignment.pk}", f"Ended '{p.position_name}'.")


def _details_change(ctx: ApplyContext) -> Outcome:
    p = load(ctx.request, schemas.DetailsChange)
    person = people.person_update_details(
        actor=ctx.actor,
        person=_subject(ctx),
        given_name=p.given_name,
        family_name=p.family_name,
        date_of_birth=p.date_of_birth,
        professional_body=p.professional_body,
        professional_number=p.professional_number,
        request_ref=ctx.request.ref,
    )
    changed = [name.replace("_", " ") for name in p.changed()]
    return Outcome(f"person:{person.user_id}", f"Changed {', '.join(changed)}.")


def _profile_close(ctx: ApplyContext) -> Outcome:
    person = people.person_close(
        actor=ctx.actor,
        person=_subject(ctx),
        reason=load(ctx.request, schemas.ProfileChange).reason,
        request_ref=ctx.request.ref,
    )
    return Outcome(f"person:{person.user_id}", "Closed the profile.")


def _profile_reopen(ctx: ApplyContext) -> Outcome:
    person = people.person_reopen(
        actor=ctx.actor, person=_subject(ctx), request_ref=ctx.request.ref
    )
    return Outcome(f"person:{person.user_id}", "Reopened the profile.")


def _right_grant(ctx: ApplyContext) -> Outcome:
    p = load(ctx.request, schemas.RightGrantPayload)
    org = Organisation.objects.get(ods_code=p.ods_code) if p.ods_code else None
    ra = RegistrationAuthority.objects.get(code=p.ra_code) if p.ra_code else None
    grant = rights.right_grant(
        actor=ctx.actor,
        person=_subject(ctx),
        right=p.right,
        organisation=org,
        include_children=bool(p.include_children),
        ra=ra,
        request_ref=ctx.request.ref,
    )
    return Outcome(
        f"right:{grant.pk}", f"Granted {grant.get_right_display()} ({grant.scope_label})."
    )


def _right_revoke(ctx: ApplyContext) -> Outcome:
    p = load(ctx.request, schemas.RightRevokePayload)
    grant = RightGrant.objects.filter(pk=p.grant_id).first()
    if grant is None:
        raise NotFound("The right in this request no longer exists.")
    rights.right_revoke(actor=ctx.actor, grant=grant, reason=p.reason, request_ref=ctx.request.ref)
    return Outcome(f"right:{grant.pk}", "Revoked the right.")


APPLIERS: dict[str, Callable[[ApplyContext], Outcome]] = {
    RequestType.PERSON_REGISTER: _register,
    RequestType.CARD_ISSUE: _card,
    RequestType.CARD_REPLACE: _card,
    RequestType.CARD_RENEW: _card,
    RequestType.POSITION_ADD: _position_add,
    RequestType.POSITION_END: _position_end,
    RequestType.DETAILS_CHANGE: _details_change,
    RequestType.PROFILE_CLOSE: _profile_close,
    RequestType.PROFILE_REOPEN: _profile_reopen,
    RequestType.RIGHT_GRANT: _right_grant,
    RequestType.RIGHT_REVOKE: _right_revoke,
}


def check_still_applicable(request: Request) -> None:
    """Refuse, with the reason, a request the world has moved past since it was raised."""
    subject = request.subject
    if subject is not None:
        subject.refresh_from_db(fields=["status"])
        if subject.status == PersonStatus.CLOSED and request.request_type != (
            RequestType.PROFILE_REOPEN
        ):
            raise InvalidState(
                f"{subject.full_name}'s profile was closed after this request was raised, so it "
                "cannot be applied. Reject it, or reopen the profile first."
            )
    if request.organisation is not None:
        request.organisation.refresh_from_db(fields=["status"])
        if not request.organisation.is_open:
            raise InvalidState(
                f"{request.organisation} has closed since this request was raised, so it cannot "
                "be applied. Reject it."
            )
    if request.request_type in CARD_TYPES and subject is not None:
        if subject.status != PersonStatus.ACTIVE:
            raise InvalidState(f"{subject.full_name}'s identity is not verified: no card yet.")


def apply_request(ctx: ApplyContext) -> Outcome:
    if ctx.identity is not None and ctx.request.request_type != RequestType.PERSON_REGISTER:
        raise ValidationFailed("Identity evidence is recorded only when registering someone.")
    outcome = APPLIERS[ctx.request.request_type](ctx)
    if ctx.partial_reason and not outcome.dropped:
        raise ValidationFailed(
            "Nothing asked for would be left out, so this is not an approval in part: approve "
            "it without a reason for a partial approval.",
            field="partial_reason",
        )
    return outcome
