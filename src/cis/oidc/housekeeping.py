"""Clearing out what sign-in and the provider no longer need; safe to run anywhere, any time."""

from __future__ import annotations

import datetime as dt

from oauth2_provider.models import clear_expired

from cis.core import clock
from cis.signin.challenge import challenges_purge
from cis.signin.models import SignInTicket

from .models import CodeIssue

# A code's record outlives the code so that a late replay still revokes what it produced.
CODE_RECORD_DAYS = 2


def purge() -> dict[str, int]:
    now = clock.now()
    challenges = challenges_purge()
    tickets, _ = SignInTicket.objects.filter(expires_at__lt=now - dt.timedelta(hours=1)).delete()
    codes, _ = CodeIssue.objects.filter(
        created_at__lt=now - dt.timedelta(days=CODE_RECORD_DAYS)
    ).delete()
    clear_expired()  # the toolkit's expired tokens and grants
    return {"challenges": challenges, "sign-in links": tickets, "code records": codes}
