"""Every change to a person: creation, details, identity checks, contact details, close, reopen."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from cis.audit import refusals
from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.authz.scoping import visible
from cis.core import clock, codes
from cis.core.errors import InvalidState, ProbableDuplicate, RateLimited, ValidationFailed
from cis.core.validators import (
    check_date_of_birth,
    normalise_email,
    normalise_mobile,
)
from cis.notify import messages as notify
from cis.organisations.models import RegistrationAuthority
from cis.signin.services import sessions_end_for_person

from .duplicates import find_duplicates
from .models import (
    AssuranceLevel,
    ContactChannel,
    ContactVerification,
    IdentityCheck,
    Person,
    PersonKind,
    PersonStatus,
)
from .registration import check_registration

DOCUMENT_TYPES = {
    "passport": ("Passport", True, False),
    "driving_licence_photo": ("Photocard driving licence", True, True),
    "national_id": ("National identity card", True, False),
    "biometric_residence_permit": ("Biometric residence permit", True, False),
    "birth_certificate": ("Birth certificate", False, False),
    "utility_bill": ("Utility bill (last 3 months)", False, True),
    "bank_statement": ("Bank statement (last 3 months)", False, True),
    "council_tax": ("Council tax statement", False, True),
    "p60": ("P60 or payslip", False, True),
    "marriage_certificate": ("Marriage certificate", False, False),
}


# A photo of the person taken at the check (issue 6): a JPEG or PNG, small enough to keep.
PHOTO_MAX_BYTES = 2 * 1024 * 1024
PHOTO_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def check_photo(photo: bytes) -> bytes:
    """Refuse anything but a JPEG or PNG photo of at most 2 MB."""
    if not photo:
        raise ValidationFailed("Take or upload a photo of the person.", field="photo")
    if len(photo) > PHOTO_MAX_BYTES:
        raise ValidationFailed("The photo is larger than 2 MB; use a smaller one.", field="photo")
    if not photo.startswith(PHOTO_SIGNATURES):
        raise ValidationFailed("The photo must be a JPEG or PNG image.", field="photo")
    return photo


def _snapshot(person: Person) -> dict[str, Any]:
    return {
        "user_id": person.user_id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "date_of_birth": person.date_of_birth,
        "email": person.email,
        "mobile": person.mobile,
        "professional_body": person.professional_body,
        "professional_number": person.professional_number,
        "assurance_level": person.assurance_level,
        "status": person.status,
        "kind": person.kind,
        "access_ends_on": person.access_ends_on,
    }


def _clean_name(value: str, field: str) -> str:
    cleaned = " ".join(value.split())
    if not cleaned:
        raise ValidationFailed(f"Enter the {field.replace('_', ' ')}.", field=field)
    if len(cleaned) > 100:
        raise ValidationFailed(f"The {field.replace('_', ' ')} is too long.", field=field)
    return cleaned


def new_user_id() -> str:
    return new_user_ids(1)[0]


def new_user_ids(count: int) -> list[str]:
    """Distinct 12-digit user ids that nobody has, checked against the directory in bulk."""
    ids: set[str] = set()
    while len(ids) < count:
        wanted = count - len(ids)
        fresh = {f"{secrets.randbelow(9 * 10**11) + 10**11}" for _ in range(wanted)} - ids
        taken: set[str] = set()
        batch = sorted(fresh)
        for start in range(0, len(batch), 5000):
            taken.update(
                Person.objects.filter(user_id__in=batch[start : start + 5000]).values_list(
                    "user_id", flat=True
                )
            )
        ids |= fresh - taken
    return sorted(ids, key=lambda _: secrets.randbits(32))


def probable_duplicates(
    *, given_name: str, family_name: str, date_of_birth: dt.date, exclude: Person | None = None
) -> list[Person]:
    """People who may be this one (cis.people.duplicates: near names, same date of birth)."""
    return [
        m.person
        for m in find_duplicates(
            given_name=given_name,
            family_name=family_name,
            date_of_birth=date_of_birth,
            exclude=exclude,
        )
    ]


# What a creator acknowledges for possible duplicates among people they may not see.
OUTSIDE_SCOPE = "outside-scope"


def _check_duplicates(
    actor: Actor,
    acknowledged: Sequence[str],
    **details: Any,
) -> list[str]:
    """Refuse a probable duplicate until acknowledged; the ones the actor may not see are only
    said to exist (the RA checks them). Returns those hidden matches' user ids, for the audit."""
    matches = find_duplicates(**details)
    if not matches:
        return []
    seen = set(
        visible(
            actor, Action.PERSON_VIEW, Person.objects.filter(pk__in=[m.person.pk for m in matches])
        ).values_list("pk", flat=True)
    )
    shown = [m for m in matches if m.person.pk in seen and m.person.user_id not in acknowledged]
    hidden = [m.person.user_id for m in matches if m.person.pk not in seen]
    ask_hidden = bool(hidden) and OUTSIDE_SCOPE not in acknowledged
    if shown or ask_hidden:
        parts = []
        if shown:
            who = "; ".join(f"{m.person} ({m.why})" for m in shown)
            parts.append(f"This may be someone CIS already knows: {who}.")
        if ask_hidden:
            parts.append(
                "A possible duplicate exists among people outside your view; the RA will check."
            )
        parts.append("Check before creating a new profile.")
        raise ProbableDuplicate(
            " ".join(parts),
            matches=[m.person.user_id for m in shown] + ([OUTSIDE_SCOPE] if ask_hidden else []),
        )
    return hidden


# Profiles that are not a person's own: how long they may run before they must be renewed.
ACCESS_LIMITS = {PersonKind.RPA: 365, PersonKind.TEMPORARY: 90}


def check_access_end(kind: str, ends_on: dt.date | None, today: dt.date) -> dt.date | None:
    """RPA and temporary-access profiles need an end date, within their limit from today."""
    if kind not in ACCESS_LIMITS:
        if ends_on is not None:
            raise ValidationFailed(
                "Only RPA and temporary-access profiles have an access end date.",
                field="access_ends_on",
            )
        return None
    label = PersonKind(kind).label.lower()
    if ends_on is None:
        raise ValidationFailed(
            f"A {label} profile needs the date its access ends.", field="access_ends_on"
        )
    if ends_on < today:
        raise ValidationFailed("The access end date is in the past.", field="access_ends_on")
    limit = ACCESS_LIMITS[PersonKind(kind)]
    if ends_on > today + dt.timedelta(days=limit):
        raise ValidationFailed(
            f"A {label} profile runs at most {limit} days at a time: end it by "
            f"{today + dt.timedelta(days=limit):%d %B %Y}.",
            field="access_ends_on",
        )
    return ends_on


@transaction.atomic
def person_create(
    *,
    actor: Actor,
    given_name: str,
    family_name: str,
    date_of_birth: dt.date,
    registered_ra: RegistrationAuthority,
    email: str = "",
    mobile: str = "",
    professional_body: str = "",
    professional_number: str = "",
    kind: str = PersonKind.PERSON,
    acknowledged_duplicates: Sequence[str] = (),
    user_id: str | None = None,
    access_ends_on: dt.date | None = None,
) -> Person:
    decision = require(actor, Action.PERSON_CREATE, registered_ra)
    given_name = _clean_name(given_name, "given_name")
    family_name = _clean_name(family_name, "family_name")
    check_date_of_birth(date_of_birth, clock.today())
    if kind not in PersonKind.values:
        raise ValidationFailed(f"'{kind}' is not a kind of person.", field="kind")
    email = normalise_email(email) if email else ""
    mobile = normalise_mobile(mobile) if mobile else ""
    professional_body, professional_number = check_registration(
        professional_body, professional_number
    )
    access_ends_on = check_access_end(kind, access_ends_on, clock.today())
    hidden = _check_duplicates(
        actor,
        acknowledged_duplicates,
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        email=email,
        mobile=mobile,
        professional_number=professional_number,
    )
    person = Person(
        user_id=user_id or new_user_id(),
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        email=email,
        mobile=mobile,
        professional_body=professional_body,
        professional_number=professional_number,
        kind=kind,
        access_ends_on=access_ends_on,
        registered_ra=registered_ra,
        status=PersonStatus.RESTRICTED,
    )
    person.set_unusable_password()
    person.save()
    after = _snapshot(person)
    if hidden:
        after["possible_duplicates_for_the_ra"] = hidden
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.PERSON_CREATE,
        target_type="person",
        target_ref=person.user_id,
        after=after,
    )
    return person


def _locked(person: Person) -> Person:
    return Person.objects.select_for_update().get(pk=person.pk)


@transaction.atomic
def person_update_details(
    *,
    actor: Actor,
    person: Person,
    given_name: str | None = None,
    family_name: str | None = None,
    date_of_birth: dt.date | None = None,
    professional_body: str | None = None,
    professional_number: str | None = None,
    request_ref: str = "",
) -> Person:
    person = _locked(person)
    decision = require(actor, Action.PERSON_UPDATE_DETAILS, person)
    before = _snapshot(person)
    if given_name is not None:
        person.given_name = _clean_name(given_name, "given_name")
    if family_name is not None:
        person.family_name = _clean_name(family_name, "family_name")
    if date_of_birth is not None:
        person.date_of_birth = check_date_of_birth(date_of_birth, clock.today())
    if professional_body is not None or professional_number is not None:
        person.professional_body, person.professional_number = check_registration(
            person.professional_body if professional_body is None else professional_body,
            person.professional_number if professional_number is None else professional_number,
        )
    person.save()
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.PERSON_UPDATE_DETAILS,
        target_type="person",
        target_ref=person.user_id,
        before=before,
        after=_snapshot(person),
        request_ref=request_ref,
    )
    return person


@transaction.atomic
def person_verify_identity(
    *,
    actor: Actor,
    person: Person,
    document_types: Sequence[str],
    checked_on: dt.date | None = None,
    photo: bytes | None = None,
    notes: str = "",
) -> IdentityCheck:
    """Record a face-to-face check: three documents, one with a photo, one proving address."""
    person = _locked(person)
    decision = require(actor, Action.PERSON_VERIFY_IDENTITY, person)
    unknown = [d for d in document_types if d not in DOCUMENT_TYPES]
    if unknown:
        raise ValidationFailed(f"Unknown document type: {', '.join(unknown)}.", field="documents")
    if len(set(document_types)) < 3:
        raise ValidationFailed("Record three different documents.", field="documents")
    if not any(DOCUMENT_TYPES[d][1] for d in document_types):
        raise ValidationFailed("At least one document must carry a photo.", field="documents")
    if not any(DOCUMENT_TYPES[d][2] for d in document_types):
        raise ValidationFailed("At least one document must prove the address.", field="documents")
    day = checked_on or clock.today()
    if day > clock.today():
        raise ValidationFailed("The check cannot be dated in the future.", field="checked_on")
    if photo is not None:
        check_photo(photo)
    before = _snapshot(person)
    check = IdentityCheck.objects.create(
        person=person,
        checker=actor if isinstance(actor, Person) else None,
        checked_on=day,
        document_types=sorted(set(document_types)),
        assurance_level=AssuranceLevel.HIGH,
        photo=photo,
        notes=notes[:500],
    )
    person.assurance_level = AssuranceLevel.HIGH
    if person.status == PersonStatus.RESTRICTED:
        person.status = PersonStatus.ACTIVE
    person.save(update_fields=["assurance_level", "status", "updated_at"])
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.PERSON_VERIFY_IDENTITY,
        target_type="person",
        target_ref=person.user_id,
        before=before,
        after={**_snapshot(person), "documents": check.document_types, "check_id": check.id},
    )
    return check


@transaction.atomic
def person_close(*, actor: Actor, person: Person, reason: str, request_ref: str = "") -> Person:
    person = _locked(person)
    decision = require(actor, Action.PERSON_CLOSE, person)
    if not reason.strip():
        raise ValidationFailed("Give a reason for closing the profile.", field="reason")
    before = _snapshot(person)
    person.status = PersonStatus.CLOSED
    person.closed_at = clock.now()
    person.save(update_fields=["status", "closed_at", "updated_at"])
    sessions_end_for_person(person)
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.PERSON_CLOSE,
        target_type="person",
        target_ref=person.user_id,
        before=before,
        after={**_snapshot(person), "reason": reason.strip()},
        request_ref=request_ref,
    )
    return person


@transaction.atomic
def person_reopen(*, actor: Actor, person: Person, request_ref: str = "") -> Person:
    person = _locked(person)
    decision = require(actor, Action.PERSON_REOPEN, person)
    if person.status != PersonStatus.CLOSED:
        raise InvalidState(f"{person.full_name}'s profile is not closed.")
    before = _snapshot(person)
    verified = person.assurance_level >= AssuranceLevel.HIGH
    person.status = PersonStatus.ACTIVE if verified else PersonStatus.RESTRICTED
    person.closed_at = None
    person.save(update_fields=["status", "closed_at", "updated_at"])
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.PERSON_REOPEN,
        target_type="person",
        target_ref=person.user_id,
        before=before,
        after=_snapshot(person),
        request_ref=request_ref,
    )
    return person


@transaction.atomic
def person_extend_access(*, actor: Actor, person: Person, ends_on: dt.date) -> Person:
    """Renew an RPA or temporary-access profile: a new end date, within its kind's limit.

    Temporary access is renewed only while it runs (once it has ended, the RA registers the
    person properly); an RPA profile may be renewed after it lapsed, as its owner reviews it.
    """
    person = _locked(person)
    decision = require(actor, Action.PERSON_UPDATE_DETAILS, person)
    if person.kind not in ACCESS_LIMITS:
        raise InvalidState(f"{person.full_name}'s profile has no access end date to renew.")
    if person.kind == PersonKind.TEMPORARY and person.access_ended:
        raise InvalidState(
            f"{person.full_name}'s temporary access ended on {person.access_ends_on:%d %B %Y}; "
            "it cannot be renewed after it ends."
        )
    before = _snapshot(person)
    person.access_ends_on = check_access_end(person.kind, ends_on, clock.today())
    person.save(update_fields=["access_ends_on", "updated_at"])
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.PERSON_UPDATE_DETAILS,
        target_type="person",
        target_ref=person.user_id,
        before=before,
        after={**_snapshot(person), "renewed": True},
    )
    return person


def access_expire(*, today: dt.date | None = None) -> int:
    """Close every RPA and temporary-access profile whose end date has passed (a job)."""
    day = today or clock.today()
    closed = 0
    due = Person.objects.filter(access_ends_on__lt=day).exclude(status=PersonStatus.CLOSED)
    for candidate in due:
        with transaction.atomic():
            person = _locked(candidate)
            if person.status == PersonStatus.CLOSED:
                continue
            before = _snapshot(person)
            person.status, person.closed_at = PersonStatus.CLOSED, clock.now()
            person.save(update_fields=["status", "closed_at", "updated_at"])
            sessions_end_for_person(person)
            record(
                actor=None,
                rule="consequence:access-ended",
                action=Action.PERSON_CLOSE,
                target_type="person",
                target_ref=person.user_id,
                before=before,
                after={**_snapshot(person), "reason": "access end date passed"},
            )
            closed += 1
    return closed


def _normalise_contact(channel: str, value: str) -> str:
    if channel == ContactChannel.EMAIL:
        return normalise_email(value)
    if channel == ContactChannel.MOBILE:
        return normalise_mobile(value)
    raise ValidationFailed(f"'{channel}' is not a contact channel.", field="channel")


def _supersede_pending_codes(person: Person, channel: str) -> None:
    ContactVerification.objects.filter(
        person=person, channel=channel, used_at__isnull=True, superseded=False
    ).update(superseded=True)


@transaction.atomic
def contact_change_start(
    *, actor: Actor, person: Person, channel: str, new_value: str
) -> ContactVerification:
    """Send a one-time code to a new email or mobile; it is used only once the code comes back."""
    person = _locked(person)
    require(actor, Action.PERSON_UPDATE_CONTACT, person)
    value = _normalise_contact(channel, new_value)
    current = person.email if channel == ContactChannel.EMAIL else person.mobile
    if value == current:
        raise ValidationFailed(f"That is already your {channel}.", field=channel)
    if codes.sent_too_often(ContactVerification.objects.filter(person=person)):
        raise RateLimited("Too many codes requested in the last hour. Try again later.")
    pending, code = codes.issue(
        ContactVerification.objects.filter(person=person, channel=channel),
        purpose=f"contact:{channel}",
        person=person,
        channel=channel,
        new_value=value,
    )
    # The message goes out only if this transaction commits.
    transaction.on_commit(
        lambda: notify.send_contact_code(channel=channel, to=value, code=code, person=person)
    )
    return pending


def contact_change_confirm(
    *, actor: Actor, person: Person, verification_id: int, code: str
) -> Person:
    """Check a one-time code; on success the new contact is verified and replaces the old."""
    with transaction.atomic():
        person = _locked(person)
        decision = require(actor, Action.PERSON_UPDATE_CONTACT, person)
        pending = (
            ContactVerification.objects.select_for_update()
            .filter(pk=verification_id, person=person)
            .first()
        )
        if pending is None:
            raise InvalidState("There is no such code for you. Ask for a new one.")
        wrong = codes.check(pending, code, purpose=f"contact:{pending.channel}")
        if wrong is None:
            before = _snapshot(person)
            now = pending.used_at
            if pending.channel == ContactChannel.EMAIL:
                person.email, person.email_verified_at = pending.new_value, now
            else:
                person.mobile, person.mobile_verified_at = pending.new_value, now
            person.save()
            record(
                actor=actor,
                rule=decision.rule,
                action=Action.PERSON_UPDATE_CONTACT,
                target_type="person",
                target_ref=person.user_id,
                before={pending.channel: before[pending.channel]},
                after={pending.channel: pending.new_value, "verified": True},
            )
    # The attempt count is committed before the error is raised, so a wrong code still counts.
    if wrong is not None:
        refusals.wrong_code(
            actor=actor, attempted=Action.PERSON_UPDATE_CONTACT, reason=wrong.message, target=person
        )
        raise wrong
    return person


CONFIRMED_HOW = ("in person", "by telephone call-back")


@transaction.atomic
def contact_confirm_in_person(
    *, actor: Actor, person: Person, channel: str, value: str, how: str = "in person"
) -> Person:
    """An RA Agent records an email or mobile they saw confirmed, without a one-time code.

    For the registration appointment: the agent watched the person receive a message at the
    address (or called them back on the number). The event says who confirmed it and how, and
    nobody can do this for their own record: a holder always confirms with a code.
    """
    person = _locked(person)
    decision = require(actor, Action.PERSON_CONFIRM_CONTACT, person)
    if how not in CONFIRMED_HOW:
        raise ValidationFailed(
            f"Say how the contact was confirmed: {' or '.join(CONFIRMED_HOW)}.", field="how"
        )
    normalised = _normalise_contact(channel, value)
    before = _snapshot(person)
    now = clock.now()
    if channel == ContactChannel.EMAIL:
        person.email, person.email_verified_at = normalised, now
    else:
        person.mobile, person.mobile_verified_at = normalised, now
    person.save()
    _supersede_pending_codes(person, channel)  # a code still out for this channel is now moot
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.PERSON_CONFIRM_CONTACT,
        target_type="person",
        target_ref=person.user_id,
        before={channel: before[channel]},
        after={channel: normalised, "verified": True, "how": how},
    )
    return person
