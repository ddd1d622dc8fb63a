"""Reading each type of request's input into its schema (cis.workflow.schemas), checked and
normalised before anything is saved, naming the field in every error as `payload.<field>`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cis.authz.actions import Action
from cis.authz.policy import GRANTABLE_BY_RA_MANAGER, Actor, ConsoleOperator, can
from cis.authz.scope import active_assignments
from cis.core import clock
from cis.core.errors import InvalidState, NotFound, ValidationFailed
from cis.core.validators import (
    check_date_of_birth,
    check_date_range,
    normalise_email,
    normalise_mobile,
    normalise_ods_code,
    normalise_user_id,
)
from cis.organisations.models import Organisation, RegistrationAuthority
from cis.people.models import Person, PersonStatus
from cis.people.selectors import person_get
from cis.rbac.models import Position, PositionAssignment, PositionStatus
from cis.rbac.selectors import assignment_get
from cis.rights.models import Right
from cis.rights.selectors import grant_get

from . import schemas
from .models import Request
from .schemas import Payload
from .states import RequestType

# Why a card is replaced (DESIGN §3 cancellation reasons, plus a change of name on the card).
REPLACEMENT_REASONS = {
    "lost": "Lost",
    "stolen": "Stolen",
    "damaged": "Damaged",
    "faulty": "Faulty",
    "name_change": "Name changed",
}
# Documents that prove a change of legal name (types only: CIS never keeps their numbers).
NAME_EVIDENCE = {
    "marriage_certificate": "Marriage certificate",
    "civil_partnership_certificate": "Civil partnership certificate",
    "deed_poll": "Deed poll",
    "decree_absolute": "Decree absolute or final order",
    "statutory_declaration": "Statutory declaration",
    "passport": "Passport in the new name",
}
NAME_LIMIT = 100


@dataclass(frozen=True)
class Where:
    """Who a request is about, and the organisation and RA it is made through."""

    subject: Person | None
    organisation: Organisation | None
    ra: RegistrationAuthority


@dataclass(frozen=True)
class Prepared:
    """A checked request, ready to be put before the policy and saved."""

    subject: Person | None
    organisation: Organisation | None
    ra: RegistrationAuthority
    payload: Payload

    @classmethod
    def at(cls, where: Where, payload: Payload) -> Prepared:
        return cls(where.subject, where.organisation, where.ra, payload)


class Reader:
    """Reads one payload, naming the field in every error as `payload.<field>`."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping):
            raise ValidationFailed(
                "The payload must be an object of named fields.", field="payload"
            )
        self.data = data

    @staticmethod
    def name(key: str) -> str:
        return f"payload.{key}"

    def raw(self, key: str) -> Any:
        value = self.data.get(key)
        return value.strip() if isinstance(value, str) else value

    def text(self, key: str, *, required: bool = False, limit: int = 200, what: str = "") -> str:
        value = self.raw(key)
        if value is None or value == "":
            if required:
                raise ValidationFailed(
                    f"Enter {what or key.replace('_', ' ')}.", field=self.name(key)
                )
            return ""
        if not isinstance(value, str):
            raise ValidationFailed(f"{key.replace('_', ' ')} must be text.", field=self.name(key))
        cleaned = " ".join(value.split())
        if len(cleaned) > limit:
            raise ValidationFailed(
                f"{key.replace('_', ' ').capitalize()} is too long (at most {limit} characters).",
                field=self.name(key),
            )
        return cleaned

    def integer(self, key: str, *, what: str) -> int:
        value = self.raw(key)
        if isinstance(value, bool) or value in (None, ""):
            raise ValidationFailed(f"Choose {what}.", field=self.name(key))
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValidationFailed(
                f"'{value}' is not a valid {what}.", field=self.name(key)
            ) from None

    def date(self, key: str, *, required: bool = False) -> dt.date | None:
        value = self.raw(key)
        if value in (None, ""):
            if required:
                raise ValidationFailed(f"Enter the {key.replace('_', ' ')}.", field=self.name(key))
            return None
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ValidationFailed(
                f"'{value}' is not a date: use YYYY-MM-DD.", field=self.name(key)
            ) from None

    def choice(self, key: str, choices: Mapping[str, str], *, what: str) -> str:
        value = self.text(key, required=True, what=what)
        if value not in choices:
            allowed = ", ".join(choices)
            raise ValidationFailed(
                f"'{value}' is not a valid {what}: choose one of {allowed}.", field=self.name(key)
            )
        return value

    def flag(self, key: str) -> bool:
        value = self.raw(key)
        if value in (None, ""):
            return False
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1", "yes", "on"):
            return True
        if str(value).lower() in ("false", "0", "no", "off"):
            return False
        raise ValidationFailed(f"'{value}' is not true or false.", field=self.name(key))

    def refuse_unknown(self, schema: type[Payload]) -> None:
        unknown = sorted(set(self.data) - schema.accepts())
        if unknown:
            raise ValidationFailed(
                f"This type of request does not take: {', '.join(unknown)}.",
                field=self.name(unknown[0]),
            )


def _subject(actor: Actor, reader: Reader) -> Person:
    raw = reader.text("user_id", required=True, what="the person's 12-digit user id")
    try:
        return person_get(actor=actor, user_id=normalise_user_id(raw))
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=reader.name("user_id")) from None
    except NotFound:
        raise NotFound(
            f"No person with user id {raw} that you can see. Only people working in your "
            "organisations can be the subject of your requests.",
            field=reader.name("user_id"),
        ) from None


def _organisation(reader: Reader, key: str = "ods_code") -> Organisation | None:
    raw = reader.text(key)
    if not raw:
        return None
    try:
        code = normalise_ods_code(raw)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=reader.name(key)) from None
    org = Organisation.objects.select_related("serving_ra").filter(ods_code=code).first()
    if org is None:
        raise NotFound(f"No organisation with ODS code {code}.", field=reader.name(key))
    return org


def _require_open(org: Organisation, reader: Reader, key: str = "ods_code") -> None:
    if not org.is_open:
        raise InvalidState(
            f"{org.name} ({org.ods_code}) is closed, so no request can be made there.",
            field=reader.name(key),
        )


def _where_subject_works(actor: Actor, subject: Person, reader: Reader) -> Organisation | None:
    """The organisation the request is made through: one where the subject holds a position."""
    orgs = list(
        Organisation.objects.filter(
            positions__assignments__in=PositionAssignment.objects.filter(
                active_assignments(), person=subject
            )
        )
        .select_related("serving_ra")
        .distinct()
        .order_by("ods_code")
    )
    chosen = _organisation(reader)
    if chosen is not None:
        if chosen not in orgs:
            raise ValidationFailed(
                f"{subject.full_name} holds no current position at {chosen.ods_code}.",
                field=reader.name("ods_code"),
            )
        return chosen
    if isinstance(actor, ConsoleOperator):
        return orgs[0] if orgs else None
    for org in orgs:
        probe = Request(request_type=RequestType.CARD_ISSUE, organisation=org, ra=org.serving_ra)
        if can(actor, Action.REQUEST_RAISE, probe):
            return org
    return orgs[0] if orgs else None


def _about_someone(actor: Actor, reader: Reader) -> Where:
    subject = _subject(actor, reader)
    org = _where_subject_works(actor, subject, reader)
    ra = org.serving_ra if org is not None else subject.registered_ra
    if ra is None:
        raise InvalidState(
            f"{subject.full_name} has no current position and no Registration Authority.",
            field=reader.name("user_id"),
        )
    return Where(subject, org, ra)


def _require_not_closed(subject: Person, reader: Reader) -> None:
    if subject.status == PersonStatus.CLOSED:
        raise InvalidState(
            f"{subject.full_name}'s profile is closed; ask for it to be reopened first.",
            field=reader.name("user_id"),
        )


def _person_register(actor: Actor, reader: Reader) -> Prepared:
    reader.refuse_unknown(schemas.PersonRegister)
    org = _organisation(reader)
    if org is None:
        raise ValidationFailed(
            "Choose the organisation the new person will work at.", field=reader.name("ods_code")
        )
    _require_open(org, reader)
    given_name = reader.text("given_name", required=True, limit=NAME_LIMIT)
    family_name = reader.text("family_name", required=True, limit=NAME_LIMIT)
    dob = reader.date("date_of_birth", required=True)
    assert dob is not None  # noqa: S101 - required=True never returns None
    try:
        check_date_of_birth(dob, clock.today())
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=reader.name("date_of_birth")) from None
    contact: dict[str, str] = {}
    for key, normalise in (("email", normalise_email), ("mobile", normalise_mobile)):
        value = reader.text(key, limit=254)
        try:
            contact[key] = normalise(value) if value else ""
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field=reader.name(key)) from None
    professional_body = reader.text("professional_body", limit=60)
    professional_number = reader.text("professional_number", limit=30)
    position = _position(reader, org) if reader.raw("position_id") not in (None, "") else None
    payload = schemas.PersonRegister(
        ods_code=org.ods_code,
        given_name=given_name,
        family_name=family_name,
        date_of_birth=dob,
        email=contact["email"],
        mobile=contact["mobile"],
        professional_body=professional_body,
        professional_number=professional_number,
        position_id=position.pk if position is not None else None,
        position_name=position.name if position is not None else None,
    )
    return Prepared(None, org, org.serving_ra, payload)


def _position(reader: Reader, org: Organisation | None = None) -> Position:
    position_id = reader.integer("position_id", what="position")
    position = Position.objects.select_related("organisation__serving_ra").filter(pk=position_id)
    found = position.first()
    if found is None:
        raise NotFound(f"No position with id {position_id}.", field=reader.name("position_id"))
    if org is not None and found.organisation_id != org.pk:
        raise ValidationFailed(
            f"'{found.name}' is not a position at {org.ods_code}.", field=reader.name("position_id")
        )
    _require_open(found.organisation, reader, "position_id")
    if found.status != PositionStatus.ACTIVE:
        raise InvalidState(
            f"The position '{found.name}' is retired.", field=reader.name("position_id")
        )
    return found


def _card(reader: Reader, actor: Actor, schema: type[Payload]) -> Prepared:
    reader.refuse_unknown(schema)
    where = _about_someone(actor, reader)
    subject = where.subject
    assert subject is not None  # noqa: S101 - _about_someone always finds a subject
    _require_not_closed(subject, reader)
    if subject.status == PersonStatus.RESTRICTED:
        raise InvalidState(
            f"{subject.full_name}'s identity has not been verified, so they cannot have "
            "a card yet.",
            field=reader.name("user_id"),
        )
    if schema is schemas.CardReplace:
        reason = reader.choice("reason", REPLACEMENT_REASONS, what="reason for the replacement")
        card_serial = reader.text("card_serial", limit=64)
        return Prepared.at(
            where,
            schemas.CardReplace(user_id=subject.user_id, reason=reason, card_serial=card_serial),
        )
    if schema is schemas.CardRenew:
        card_serial = reader.text("card_serial", limit=64)
        return Prepared.at(
            where, schemas.CardRenew(user_id=subject.user_id, card_serial=card_serial)
        )
    return Prepared.at(where, schemas.CardIssue(user_id=subject.user_id))


def _card_issue(actor: Actor, reader: Reader) -> Prepared:
    return _card(reader, actor, schemas.CardIssue)


def _card_replace(actor: Actor, reader: Reader) -> Prepared:
    return _card(reader, actor, schemas.CardReplace)


def _card_renew(actor: Actor, reader: Reader) -> Prepared:
    return _card(reader, actor, schemas.CardRenew)


def _position_add(actor: Actor, reader: Reader) -> Prepared:
    reader.refuse_unknown(schemas.PositionAdd)
    subject = _subject(actor, reader)
    _require_not_closed(subject, reader)
    if subject.status == PersonStatus.RESTRICTED:
        raise InvalidState(
            f"{subject.full_name}'s identity has not been verified, so they cannot hold a "
            "position yet.",
            field=reader.name("user_id"),
        )
    position = _position(reader)
    start = reader.date("start_date") or clock.today()
    end = reader.date("end_date")
    try:
        check_date_range(start, end)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=reader.name("end_date")) from None
    if PositionAssignment.objects.filter(
        active_assignments(), person=subject, position=position
    ).exists():
        raise InvalidState(
            f"{subject.full_name} already holds '{position.name}'.",
            field=reader.name("position_id"),
        )
    org = position.organisation
    payload = schemas.PositionAdd(
        user_id=subject.user_id,
        position_id=position.pk,
        position_name=position.name,
        start_date=start,
        end_date=end,
    )
    return Prepared(subject, org, org.serving_ra, payload)


def _position_end(actor: Actor, reader: Reader) -> Prepared:
    reader.refuse_unknown(schemas.PositionEnd)
    assignment_id = reader.integer("assignment_id", what="position assignment")
    try:
        assignment = assignment_get(actor=actor, pk=assignment_id)
    except NotFound as exc:
        raise NotFound(exc.message, field=reader.name("assignment_id")) from None
    today = clock.today()
    if assignment.end_date is not None and assignment.end_date < today:
        raise InvalidState("This position has already ended.", field=reader.name("assignment_id"))
    end = reader.date("end_date") or today
    try:
        check_date_range(assignment.start_date, end)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=reader.name("end_date")) from None
    org = assignment.position.organisation
    payload = schemas.PositionEnd(
        user_id=assignment.person.user_id,
        assignment_id=assignment.pk,
        position_name=assignment.position.name,
        end_date=end,
    )
    return Prepared(assignment.person, org, org.serving_ra, payload)


def _details_change(actor: Actor, reader: Reader) -> Prepared:
    reader.refuse_unknown(schemas.DetailsChange)
    where = _about_someone(actor, reader)
    subject = where.subject
    assert subject is not None  # noqa: S101 - _about_someone always finds a subject
    _require_not_closed(subject, reader)
    changes: dict[str, Any] = {}
    for key in ("given_name", "family_name"):
        value = reader.text(key, limit=NAME_LIMIT)
        if value and value != getattr(subject, key):
            changes[key] = value
    dob = reader.date("date_of_birth")
    if dob is not None and dob != subject.date_of_birth:
        try:
            check_date_of_birth(dob, clock.today())
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field=reader.name("date_of_birth")) from None
        changes["date_of_birth"] = dob
    for key, limit in (("professional_body", 60), ("professional_number", 30)):
        if key in reader.data:
            value = reader.text(key, limit=limit)
            if value != getattr(subject, key):
                changes[key] = value
    if not changes:
        raise ValidationFailed(
            f"Nothing to change: the details given are {subject.full_name}'s current ones.",
            field="payload",
        )
    evidence = None
    if "given_name" in changes or "family_name" in changes:
        if not reader.text("evidence"):
            raise ValidationFailed(
                "A change of name needs evidence: choose the document that was seen.",
                field=reader.name("evidence"),
            )
        evidence = reader.choice("evidence", NAME_EVIDENCE, what="name-change evidence")
    before = {
        key: (str(getattr(subject, key)) if getattr(subject, key) is not None else None)
        for key in schemas.DETAIL_FIELDS
        if key in changes
    }
    payload = schemas.DetailsChange(
        user_id=subject.user_id, evidence=evidence, before=before, **changes
    )
    return Prepared.at(where, payload)


def _profile(actor: Actor, reader: Reader, *, close: bool) -> Prepared:
    reader.refuse_unknown(schemas.ProfileChange)
    where = _about_someone(actor, reader)
    subject = where.subject
    assert subject is not None  # noqa: S101 - _about_someone always finds a subject
    if close:
        _require_not_closed(subject, reader)
    elif subject.status != PersonStatus.CLOSED:
        raise InvalidState(
            f"{subject.full_name}'s profile is not closed.", field=reader.name("user_id")
        )
    reason = reader.text("reason", required=True, limit=500, what="the reason")
    return Prepared.at(where, schemas.ProfileChange(user_id=subject.user_id, reason=reason))


def _profile_close(actor: Actor, reader: Reader) -> Prepared:
    return _profile(actor, reader, close=True)


def _profile_reopen(actor: Actor, reader: Reader) -> Prepared:
    return _profile(actor, reader, close=False)


def _right_grant(actor: Actor, reader: Reader) -> Prepared:
    reader.refuse_unknown(schemas.RightGrantPayload)
    subject = _subject(actor, reader)
    if subject.status != PersonStatus.ACTIVE:
        raise InvalidState(
            f"{subject.full_name}'s identity must be verified, and the profile open, before they "
            "hold a right.",
            field=reader.name("user_id"),
        )
    grantable = {r.value: r.label for r in Right if r in GRANTABLE_BY_RA_MANAGER}
    right = reader.raw("right")
    if right in (Right.RA_MANAGER, Right.SERVICE_DESK):
        raise ValidationFailed(
            "Only the service desk appoints RA Managers and the service desk; ask them directly.",
            field=reader.name("right"),
        )
    right = reader.choice("right", grantable, what="CIS right")
    org = _organisation(reader)
    ra_code = reader.text("ra_code", limit=16).upper()
    if (org is None) == (not ra_code):
        raise ValidationFailed(
            "Scope the right to one organisation (ods_code) or to an RA's area (ra_code).",
            field=reader.name("ods_code"),
        )
    if org is not None:
        _require_open(org, reader)
        payload = schemas.RightGrantPayload(
            user_id=subject.user_id,
            right=right,
            ods_code=org.ods_code,
            include_children=reader.flag("include_children"),
        )
        return Prepared(subject, org, org.serving_ra, payload)
    ra = RegistrationAuthority.objects.filter(code=ra_code, is_active=True).first()
    if ra is None:
        raise NotFound(f"No active Registration Authority {ra_code}.", field=reader.name("ra_code"))
    payload = schemas.RightGrantPayload(user_id=subject.user_id, right=right, ra_code=ra.code)
    return Prepared(subject, None, ra, payload)


def _right_revoke(actor: Actor, reader: Reader) -> Prepared:
    reader.refuse_unknown(schemas.RightRevokePayload)
    grant_id = reader.integer("grant_id", what="right")
    try:
        grant = grant_get(actor=actor, pk=grant_id)
    except NotFound:
        grant = None
    if grant is None or grant.revoked_at is not None:
        raise NotFound(
            "No such right in force, or not one you can see.", field=reader.name("grant_id")
        )
    ra = grant.organisation.serving_ra if grant.organisation else grant.ra
    if ra is None:
        raise ValidationFailed(
            "A national right is revoked by the service desk directly, not through a request.",
            field=reader.name("grant_id"),
        )
    payload = schemas.RightRevokePayload(
        user_id=grant.person.user_id,
        grant_id=grant.pk,
        right=grant.right,
        scope=grant.scope_label,
        reason=reader.text("reason", required=True, limit=500, what="the reason"),
    )
    return Prepared(grant.person, grant.organisation, ra, payload)


PREPARERS: dict[str, Callable[[Actor, Reader], Prepared]] = {
    RequestType.PERSON_REGISTER: _person_register,
    RequestType.CARD_ISSUE: _card_issue,
    RequestType.CARD_REPLACE: _card_replace,
    RequestType.CARD_RENEW: _card_renew,
    RequestType.POSITION_ADD: _position_add,
    RequestType.POSITION_END: _position_end,
    RequestType.DETAILS_CHANGE: _details_change,
    RequestType.PROFILE_CLOSE: _profile_close,
    RequestType.PROFILE_REOPEN: _profile_reopen,
    RequestType.RIGHT_GRANT: _right_grant,
    RequestType.RIGHT_REVOKE: _right_revoke,
}


def prepare(*, actor: Actor, request_type: str, data: Mapping[str, Any]) -> Prepared:
    """Check a payload for its type; raise a ValidationFailed naming the field otherwise."""
    if request_type not in PREPARERS:
        allowed = ", ".join(RequestType.values)
        raise ValidationFailed(
            f"'{request_type}' is not a type of request: choose one of {allowed}.",
            field="request_type",
        )
    return PREPARERS[request_type](actor, Reader(data))
