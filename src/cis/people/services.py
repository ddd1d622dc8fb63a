"""Every change to a person: creation, details, identity checks, contact details, close, reopen."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.core import clock
from cis.core.codes import code_digest, code_matches, new_code
from cis.core.errors import InvalidState, ProbableDuplicate, RateLimited, ValidationFailed
from cis.core.validators import (
    check_date_of_birth,
    normalise_email,
    normalise_mobile,
)
from cis.notify import messages as notify
from cis.organisations.models import RegistrationAuthority
from cis.signin.services import sessions_end_for_person

from .models import (
    AssuranceLevel,
    ContactChannel,
    ContactVerification,
    IdentityCheck,
    Person,
    PersonKind,
    PersonStatus,
)

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
    }


def _clean_name(value: str, field: str) -> str:
    cleaned = " ".join(value.split())
    if not cleaned:
        raise ValidationFailed(f"Enter the {field.replace('_', ' ')}.", field=field)
    if len(cleaned) > 100:
        raise ValidationFailed(f"The {field.replace('_', ' ')} is too long.", field=field)
    return cleaned


def new_user_id() -> str:
    while True:
        candidate = f"{secrets.randbelow(9 * 10**11) + 10**11}"
        if not Person.objects.filter(user_id=candidate).exists():
            return candidate


def probable_duplicates(
    *, given_name: str, family_name: str, date_of_birth: dt.date, exclude: Person | None = None
) -> list[Person]:
    """Same date of birth and the same or a similar name (initial and family name)."""
    same_dob = Person.objects.filter(date_of_birth=date_of_birth)
    if exclude is not None:
        same_dob = same_dob.exclude(pk=exclude.pk)
    given, family = given_name.casefold(), family_name.casefold()
    found = []
    for other in same_dob:
        o_given, o_family = other.given_name.casefold(), other.family_name.casefold()
        same_family = o_family == family
        same_given = o_given == given or o_given[:1] == given[:1]
        swapped = o_given == family and o_family == given
        if (same_family and same_given) or swapped:
            found.append(other)
    return found


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
) -> Person:
    decision = require(actor, Action.PERSON_CREATE, registered_ra)
    given_name = _clean_name(given_name, "given_name")
    family_name = _clean_name(family_name, "family_name")
    check_date_of_birth(date_of_birth, clock.today())
    if kind not in PersonKind.values:
        raise ValidationFailed(f"'{kind}' is not a kind of person.", field="kind")
    email = normalise_email(email) if email else ""
    mobile = normalise_mobile(mobile) if mobile else ""
    dupes = probable_duplicates(
        given_name=given_name, family_name=family_name, date_of_birth=date_of_birth
    )
    unacknowledged = [p for p in dupes if p.user_id not in set(acknowledged_duplicates)]
    if unacknowledged:
        names = ", ".join(str(p) for p in unacknowledged)
        raise ProbableDuplicate(
            f"This may be someone CIS already knows: {names}. Check them before creating a "
            "new profile.",
            matches=[p.user_id for p in unacknowledged],
        )
    person = Person(
        user_id=user_id or new_user_id(),
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        email=email,
        mobile=mobile,
        professional_body=professional_body.strip(),
        professional_number=professional_number.strip(),
        kind=kind,
        registered_ra=registered_ra,
        status=PersonStatus.RESTRICTED,
    )
    person.set_unusable_password()
    person.save()
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.PERSON_CREATE,
        target_type="person",
        target_ref=person.user_id,
        after=_snapshot(person),
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
    if professional_body is not None:
        person.professional_body = professional_body.strip()
    if professional_number is not None:
        person.professional_number = professional_number.strip()
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
    now = clock.now()
    recent = ContactVerification.objects.filter(
        person=person, created_at__gte=now - dt.timedelta(hours=1)
    ).count()
    if recent >= settings.CIS_OTP_MAX_PER_HOUR:
        raise RateLimited("Too many codes requested in the last hour. Try again later.")
    _supersede_pending_codes(person, channel)
    code = new_code(settings.CIS_OTP_DIGITS)
    pending = ContactVerification.objects.create(
        person=person,
        channel=channel,
        new_value=value,
        code_digest=code_digest(code, purpose=f"contact:{channel}"),
        expires_at=now + dt.timedelta(seconds=settings.CIS_OTP_LIFETIME_SECONDS),
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
        now = clock.now()
        if pending is None or pending.superseded or pending.used_at is not None:
            raise InvalidState("This code has already been used or replaced. Ask for a new one.")
        if pending.expires_at <= now:
            raise InvalidState("This code has expired. Ask for a new one.")
        if pending.attempts >= settings.CIS_OTP_MAX_ATTEMPTS:
            raise InvalidState("Too many wrong codes. Ask for a new one.")
        if not code_matches(code, pending.code_digest, purpose=f"contact:{pending.channel}"):
            pending.attempts += 1
            pending.save(update_fields=["attempts", "updated_at"])
            left = settings.CIS_OTP_MAX_ATTEMPTS - pending.attempts
            wrong = WrongCode(
                f"That code is not right. {left} attempt{'s' if left != 1 else ''} left."
                if left
                else "That code is not right, and no attempts are left. Ask for a new one."
            )
        else:
            wrong = None
            before = _snapshot(person)
            pending.used_at = now
            pending.save(update_fields=["used_at", "updated_at"])
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


class WrongCode(ValidationFailed):
    code = "wrong_code"
