"""One-time codes: the one component behind contact verification and self-unlock.

A code is CIS_OTP_DIGITS digits from the OS CSPRNG, stored only as a keyed digest bound to its
purpose (cis.core.digests), good for CIS_OTP_LIFETIME_SECONDS, used once, replaced by the next
code for the same thing, with at most CIS_OTP_MAX_ATTEMPTS tries and CIS_OTP_MAX_PER_HOUR codes
an hour. Each domain keeps its rows in its own model built on `OneTimeCode` (what the code
unlocks differs); issuing, replacing and checking happen here, with one set of messages.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import QuerySet

from . import clock
from .digests import digests_match, keyed_digest
from .errors import InvalidState, WrongCode
from .models import OneTimeCode

logger = logging.getLogger(__name__)
Code = TypeVar("Code", bound=OneTimeCode)
_DIGITS = re.compile(r"[0-9]+")


def new_code(digits: int | None = None) -> str:
    digits = digits or int(settings.CIS_OTP_DIGITS)
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def code_digest(code: str, *, purpose: str) -> str:
    return keyed_digest(code, purpose=purpose)


def lifetime() -> dt.timedelta:
    return dt.timedelta(seconds=int(settings.CIS_OTP_LIFETIME_SECONDS))


def sent_too_often(codes: QuerySet[Any]) -> bool:
    """Whether these codes (one person's, one card's) already reach the hourly allowance."""
    since = clock.now() - dt.timedelta(hours=1)
    return codes.filter(created_at__gte=since).count() >= int(settings.CIS_OTP_MAX_PER_HOUR)


def issue(codes: QuerySet[Code], *, purpose: str, **fields: Any) -> tuple[Code, str]:
    """A new code for the thing `codes` are about: earlier unused ones are replaced. Returns the
    stored row and the code itself, which only the message to the person ever carries."""
    codes.filter(used_at__isnull=True, superseded=False).update(superseded=True)
    code = new_code()
    row = codes.create(
        code_digest=code_digest(code, purpose=purpose),
        expires_at=clock.now() + lifetime(),
        **fields,
    )
    return row, code


def check(row: OneTimeCode, code: object, *, purpose: str) -> WrongCode | None:
    """Use `row` with `code` (the row locked by the caller's transaction).

    A code that can no longer be used raises InvalidState and changes nothing. The right code
    marks the row used and returns None. A wrong code counts an attempt and returns WrongCode,
    which the caller raises once its transaction has committed, so the attempt still counts.
    """
    now = clock.now()
    if row.used_at is not None:
        raise InvalidState("This code has already been used. Ask for a new one.")
    if row.superseded:
        raise InvalidState("A newer code was sent; use the latest one.")
    if row.expires_at <= now:
        minutes = int(settings.CIS_OTP_LIFETIME_SECONDS) // 60
        raise InvalidState(
            f"This code has expired (codes last {minutes} minutes). Ask for a new one."
        )
    if row.attempts >= int(settings.CIS_OTP_MAX_ATTEMPTS):
        raise InvalidState("Too many wrong codes. Ask for a new one.")
    cleaned = code.strip() if isinstance(code, str) else ""
    if _DIGITS.fullmatch(cleaned) and digests_match(
        code_digest(cleaned, purpose=purpose), row.code_digest
    ):
        row.used_at = now
        row.save(update_fields=["used_at", "updated_at"])
        return None
    row.attempts += 1
    row.save(update_fields=["attempts", "updated_at"])
    left = int(settings.CIS_OTP_MAX_ATTEMPTS) - row.attempts
    logger.warning(
        "wrong one-time code (%s), %d attempts left", purpose.split(":", maxsplit=1)[0], left
    )
    return WrongCode(
        f"That code is not right. {left} attempt{'s' if left != 1 else ''} left."
        if left
        else "That code is not right, and no attempts are left. Ask for a new one.",
        field="code",
    )
