"""Identifiers in paths and bodies turned into objects through the selectors: unseen is absent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cis.core.errors import NotFound, ValidationFailed
from cis.core.validators import normalise_ods_code, normalise_user_id
from cis.organisations.models import Organisation, RegistrationAuthority
from cis.organisations.selectors import organisation_get, ra_list
from cis.people.models import Person
from cis.people.selectors import person_get
from cis.rbac.models import Position, PositionAssignment
from cis.rbac.selectors import assignment_get, position_get
from cis.rights.models import RightGrant
from cis.rights.selectors import grant_get


@contextmanager
def _about(field: str) -> Iterator[None]:
    """Name the request field a lookup came from in the errors it raises."""
    try:
        yield
    except NotFound as exc:
        raise NotFound(exc.message, field=field) from None
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=field) from None


def person(*, actor: Person, user_id: str, field: str = "user_id") -> Person:
    with _about(field):
        return person_get(actor=actor, user_id=normalise_user_id(user_id))


def organisation(*, actor: Person, ods_code: str, field: str = "ods_code") -> Organisation:
    with _about(field):
        code = normalise_ods_code(ods_code)
    try:
        return organisation_get(actor=actor, ods_code=code)
    except NotFound:
        # One message whether it is missing or out of sight, so the answer leaks nothing.
        raise NotFound(
            f"No organisation with ODS code {code}, or not one you can see.", field=field
        ) from None


def registration_authority(*, code: str, field: str) -> RegistrationAuthority:
    """RAs are public knowledge; an unknown code is simply not found."""
    ra = ra_list().filter(code=code.strip().upper()).first()
    if ra is None:
        raise NotFound(f"No active Registration Authority with code {code}.", field=field)
    return ra


def position(*, actor: Person, position_id: int, field: str = "id") -> Position:
    with _about(field):
        return position_get(actor=actor, pk=position_id)


def assignment(*, actor: Person, assignment_id: int) -> PositionAssignment:
    with _about("id"):
        return assignment_get(actor=actor, pk=assignment_id)


def right_grant(*, actor: Person, grant_id: int) -> RightGrant:
    with _about("id"):
        return grant_get(actor=actor, pk=grant_id)
