"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): telling clinical systems that a
sign-in has ended, server to server, so they end their own session for it.

When CIS gives a code to a client that registered a `backchannel_logout_uri`, it writes an
outbox row for that (sign-in session, client) (`expect`). Whatever ends the session (sign-out,
RP-initiated logout, a card cancelled, a certificate revoked, a profile closed, an
administrator) marks its rows due in the same transaction (cis.signin.services). The
`backchannel-logout` job (`deliver_pending`) then claims due rows one at a time with SELECT ...
FOR UPDATE SKIP LOCKED, posts each client its signed logout token, and marks the row sent in the
transaction that claimed it: two machines running the job never send one twice, and a crash
re-sends at most the one in flight. A failed delivery (no answer, or not 200/204) is retried on
later runs with a growing delay, up to MAX_ATTEMPTS.

The logout token (§2.4) is a JWT signed as the client's ID tokens are (ES256, or RS256 for a
client registered so), typed `logout+jwt`: iss, aud, iat, exp, jti, sub, sid and the
back-channel logout event; never a nonce.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from django.db import transaction
from django.db.models import Q
from oauth2_provider.models import Application

from cis.core import clock
from cis.signin.models import BackchannelLogout, SignInSession

from . import keys
from .models import ClientRegistration
from .validator import id_token_alg

log = logging.getLogger(__name__)

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_TYPE = "logout+jwt"  # noqa: S105 - the JWT `typ` of a logout token (§2.4)
TOKEN_SECONDS = 120  # a logout token is for now, not later (its `exp`)
MAX_ATTEMPTS = 8
TIMEOUT_SECONDS = 10.0
# Tests put an httpx transport here to receive the posts in-process; None is the network.
transport: httpx.BaseTransport | None = None


def expect(*, client: Application, session: SignInSession | None, iss: str) -> None:
    """The client is getting a code for this sign-in: tell it when the sign-in ends (if it
    registered a back-channel logout URI). Once per (session, client), however many codes."""
    if session is None:
        return
    wanted = ClientRegistration.objects.filter(application_id=client.pk).exclude(
        backchannel_logout_uri=""
    )
    if not wanted.exists():
        return
    BackchannelLogout.objects.bulk_create(
        [
            BackchannelLogout(
                session=session, client_id=client.client_id, issuer=iss, created_at=clock.now()
            )
        ],
        ignore_conflicts=True,
    )


def logout_token(row: BackchannelLogout, client: Application) -> str:
    """The signed logout token for one (session, client) (§2.4)."""
    now = int(clock.now().timestamp())
    claims: dict[str, Any] = {
        "iss": row.issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + TOKEN_SECONDS,
        "jti": str(uuid.uuid4()),
        "sub": row.session.person.user_id,
        "sid": str(row.session.ref),
        "events": {EVENT: {}},
    }
    return keys.sign_jwt(claims, alg=id_token_alg(client), typ=TOKEN_TYPE)


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0
    dropped: int = 0


def retry_delay(attempts: int) -> dt.timedelta:
    """One minute after the first failure, doubling, at most an hour apart."""
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def deliver_pending(*, limit: int = 500) -> Delivery:
    """Post every due logout token, each exactly once even with several senders at once."""
    result = Delivery()
    tried: set[int] = set()
    with httpx.Client(transport=transport, timeout=TIMEOUT_SECONDS) as http:
        while result.sent + result.failed + result.dropped < limit:
            with transaction.atomic():
                now = clock.now()
                row = (
                    BackchannelLogout.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("session__person")
                    .filter(due_at__isnull=False, sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
                    .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                    .exclude(pk__in=tried)
                    .order_by("due_at", "id")
                    .first()
                )
                if row is None:
                    break
                tried.add(row.pk)
                _deliver_one(row, http, result)
    return result


def _deliver_one(row: BackchannelLogout, http: httpx.Client, result: Delivery) -> None:
    client = Application.objects.filter(client_id=row.client_id).first()
    more = (
        ClientRegistration.objects.filter(application=client).first()
        if client is not None
        else None
    )
    if client is None or more is None or not more.backchannel_logout_uri:
        # Retired, or no longer asking to be told: nobody to tell, never retried.
        row.attempts = MAX_ATTEMPTS
        row.last_error = "The client no longer has a back-channel logout URI."
        row.save(update_fields=["attempts", "last_error"])
        result.dropped += 1
        return
    row.attempts += 1
    try:
        answer = http.post(
            more.backchannel_logout_uri,
            data={"logout_token": logout_token(row, client)},
            headers={"Cache-Control": "no-store"},
        )
        failure = (
            ""
            if answer.status_code in (200, 204)
            else f"answered {answer.status_code} {answer.reason_phrase}"
        )
    except httpx.HTTPError as exc:
        failure = f"{type(exc).__name__}: {exc}"
    if failure:
        row.last_error = failure[:500]
        row.next_attempt_at = clock.now() + retry_delay(row.attempts)
        row.save(update_fields=["attempts", "last_error", "next_attempt_at"])
        result.failed += 1
        log.warning(
            "back-channel logout of session %s to %s failed: %s",
            row.session.ref,
            row.client_id,
            row.last_error,
        )
        return
    row.sent_at = clock.now()
    row.last_error = ""
    row.save(update_fields=["attempts", "sent_at", "last_error"])
    result.sent += 1
