"""Clearing out what sign-in and the provider no longer need; safe to run anywhere, any time."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from oauth2_provider.models import clear_expired

from cis.core import clock
from cis.signin.challenge import challenges_purge
from cis.signin.models import BackchannelLogout, SignInTicket

from .backchannel import MAX_ATTEMPTS
from .models import ClientAssertionUse, CodeIssue, DPoPProofUse, PushedRequest

# A code's record outlives the code so that a late replay still revokes what it produced.
CODE_RECORD_DAYS = 2
# Back-channel logouts sent (or given up) are kept this long, to show what was told.
LOGOUT_RECORD_DAYS = 7


def purge() -> dict[str, int]:
    now = clock.now()
    challenges = challenges_purge()
    tickets, _ = SignInTicket.objects.filter(expires_at__lt=now - dt.timedelta(hours=1)).delete()
    codes, _ = CodeIssue.objects.filter(
        created_at__lt=now - dt.timedelta(days=CODE_RECORD_DAYS)
    ).delete()
    told = now - dt.timedelta(days=LOGOUT_RECORD_DAYS)
    logouts, _ = BackchannelLogout.objects.filter(
        Q(sent_at__lt=told) | Q(attempts__gte=MAX_ATTEMPTS, due_at__lt=told)
    ).delete()
    assertions, _ = ClientAssertionUse.objects.filter(expires_at__lt=now).delete()
    pushed, _ = PushedRequest.objects.filter(expires_at__lt=now).delete()
    proofs, _ = DPoPProofUse.objects.filter(expires_at__lt=now).delete()
    clear_expired()  # the toolkit's expired tokens and grants
    return {
        "challenges": challenges,
        "sign-in links": tickets,
        "code records": codes,
        "back-channel logout records": logouts,
        "client assertion records": assertions,
        "pushed authorization requests": pushed,
        "DPoP proof records": proofs,
    }
