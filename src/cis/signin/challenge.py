"""Server nonces for login attempts: issued once, consumed once, dead after 60 seconds."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
import uuid

from django.conf import settings
from django.db import connection

from cis.core import clock, rows, sql
from cis.core.errors import InvalidState, ValidationFailed
from cis.people.models import Person

from .constants import EXPIRED_ATTEMPT, NONCE_BYTES
from .models import ChallengePurpose, LoginChallenge


def challenge_issue(
    *, purpose: str, client_address: str = "", person: Person | None = None
) -> LoginChallenge:
    at = clock.now()
    challenge = LoginChallenge(
        purpose=purpose,
        nonce=secrets.token_hex(NONCE_BYTES),
        created_at=at,
        expires_at=at + dt.timedelta(seconds=settings.CIS_SIGNIN_CHALLENGE_SECONDS),
        client_address=client_address,
        person=person,
    )
    rows.insert(challenge)  # every login attempt starts here: one plain INSERT (see rows)
    return challenge


def challenge_consume(*, challenge_id: str, purpose: str) -> LoginChallenge:
    """Use up a challenge, once: a used, expired or unknown attempt is refused the same way.

    The row is claimed and read back in one conditional UPDATE ... RETURNING (SQLite 3.35+,
    PostgreSQL), so two concurrent answers to the same challenge cannot both succeed, and a
    sign-in pays one statement for it rather than an UPDATE and a SELECT.
    """
    ident = _ident(challenge_id)
    at = clock.now()
    claimed = _claim(ident, purpose, at)
    if claimed is None:
        raise InvalidState(EXPIRED_ATTEMPT)
    nonce, client_address, person_id = claimed
    # The fields not read back (created_at, expires_at) stay deferred: loaded if ever asked for.
    return LoginChallenge.from_db(
        connection.alias,
        ["id", "purpose", "nonce", "used_at", "client_address", "person_id"],
        [ident, purpose, nonce, at, client_address, person_id],
    )


def _ident(challenge_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(challenge_id))
    except ValueError:
        raise ValidationFailed(EXPIRED_ATTEMPT, field="challenge_id") from None


def _claim(ident: uuid.UUID, purpose: str, at: dt.datetime) -> tuple[str, str, int | None] | None:
    meta = LoginChallenge._meta
    when = sql.when(at)
    params = [when, meta.pk.get_db_prep_value(ident, sql.connection()), purpose, when]
    row = sql.one(_claim_sql(), params)
    return None if row is None else (str(row[0]), str(row[1]), row[2])


@functools.cache
def _claim_sql() -> str:
    # Identifiers come from the model's metadata, never from input; values are parameters.
    c = functools.partial(sql.column, LoginChallenge)
    return " ".join(
        [
            f"UPDATE {sql.table(LoginChallenge)} SET {c('used_at')} = %s",  # noqa: S608
            f"WHERE {c('id')} = %s AND {c('purpose')} = %s",
            f"AND {c('used_at')} IS NULL AND {c('expires_at')} > %s",
            f"RETURNING {c('nonce')}, {c('client_address')}, {c('person')}",
        ]
    )


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
