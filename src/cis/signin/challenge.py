"""Server nonces for login attempts: issued once, consumed once, dead after 60 seconds."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from django.conf import settings

from cis.core import clock
from cis.core.errors import InvalidState, ValidationFailed
from cis.people.models import Person

from .constants import EXPIRED_ATTEMPT, NONCE_BYTES
from .models import ChallengePurpose, LoginChallenge


def challenge_issue(
    *, purpose: str, client_address: str = "", person: Person | None = None
) -> LoginChallenge:
    at = clock.now()
    return LoginChallenge.objects.create(
        purpose=purpose,
        nonce=secrets.token_hex(NONCE_BYTES),
        created_at=at,
        expires_at=at + dt.timedelta(seconds=settings.CIS_SIGNIN_CHALLENGE_SECONDS),
        client_address=client_address,
        person=person,
    )


def challenge_consume(*, challenge_id: str, purpose: str) -> LoginChallenge:
    """Use up a challenge, once: a used, expired or unknown attempt is refused the same way.

    The row is claimed with one conditional UPDATE, so two concurrent answers to the same
    challenge cannot both succeed, on SQLite or PostgreSQL.
    """
    try:
        ident = uuid.UUID(str(challenge_id))
    except ValueError:
        raise ValidationFailed(EXPIRED_ATTEMPT, field="challenge_id") from None
    at = clock.now()
    claimed = LoginChallenge.objects.filter(
        id=ident, purpose=purpose, used_at__isnull=True, expires_at__gt=at
    ).update(used_at=at)
    if claimed != 1:
        raise InvalidState(EXPIRED_ATTEMPT)
    return LoginChallenge.objects.get(id=ident)


def challenges_purge(*, older_than: dt.timedelta = dt.timedelta(hours=1)) -> int:
    """Remove dead challenges (a job); replay stays impossible as ids are never reissued."""
    deleted, _ = LoginChallenge.objects.filter(expires_at__lt=clock.now() - older_than).delete()
    return deleted


__all__ = [
    "ChallengePurpose",
    "challenge_consume",
    "challenge_issue",
    "challenges_purge",
]
