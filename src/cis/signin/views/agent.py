"""The workstation agent's sign-in endpoints (JSON): challenge, answer, heartbeat.

No cookies are involved, so CSRF does not apply; the challenge is the anti-replay token.
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import get_script_prefix, get_urlconf, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cis.core import jsonbody, ratelimit
from cis.core.errors import DomainError, RateLimited, ValidationFailed

from ..challenge import challenge_issue
from ..models import ChallengePurpose
from ..network import client_address
from ..services import session_heartbeat
from ..smartcard import smartcard_sign_in


def _body(request: HttpRequest) -> dict[str, Any]:
    return jsonbody.load_object(request.body)


def _b64(data: dict[str, Any], name: str) -> bytes:
    try:
        return base64.b64decode(str(data.get(name, "")), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(f"'{name}' is not base64.", field=name) from None


_TICKET_PLACEHOLDER = "0ticket0"


@functools.lru_cache(maxsize=8)
def _ticket_path(script_prefix: str, urlconf: str | None) -> tuple[str, str]:
    """The ticket URL around its secret; reverse() costs more per sign-in than it needs to."""
    path = reverse("signin:ticket", kwargs={"secret": _TICKET_PLACEHOLDER}, urlconf=urlconf)
    head, _, tail = path.partition(_TICKET_PLACEHOLDER)
    return head, tail


def _ticket_url(request: HttpRequest, secret: str) -> str:
    # A secret from secrets.token_urlsafe has only unreserved characters: reverse() would
    # neither quote nor refuse it.
    head, tail = _ticket_path(get_script_prefix(), get_urlconf())
    return request.build_absolute_uri(head + secret + tail)


def _error(exc: DomainError) -> JsonResponse:
    return JsonResponse({"error": exc.code, "message": exc.message}, status=exc.http_status)


def _throttled(verdict: ratelimit.Verdict) -> JsonResponse:
    response = JsonResponse(
        {
            "error": RateLimited.code,
            "message": "Too many sign-in attempts: wait a minute and try again.",
        },
        status=RateLimited.http_status,
    )
    response["Retry-After"] = str(verdict.retry_after)
    return response


@csrf_exempt
@require_POST
def challenge(request: HttpRequest) -> JsonResponse:
    address = client_address(request)
    verdict = ratelimit.hit(
        f"signin.challenge:{address}",
        limit=settings.CIS_SIGNIN_CHALLENGES_PER_MINUTE,
        window_seconds=60,
    )
    if not verdict.allowed:
        return _throttled(verdict)
    issued = challenge_issue(
        purpose=ChallengePurpose.SMARTCARD, client_address=client_address(request)
    )
    return JsonResponse(
        {
            "challenge_id": str(issued.id),
            "nonce": issued.nonce,
            "expires_at": issued.expires_at.isoformat(),
        },
        status=201,
    )


@csrf_exempt
@require_POST
def respond(request: HttpRequest) -> JsonResponse:
    try:
        data = _body(request)
        verdict = ratelimit.hit(
            f"signin.card:{str(data.get('chip_serial', ''))[:64]}",
            limit=settings.CIS_SIGNIN_ANSWERS_PER_CARD_PER_MINUTE,
            window_seconds=60,
        )
        if not verdict.allowed:
            return _throttled(verdict)
        done = smartcard_sign_in(
            challenge_id=str(data.get("challenge_id", "")),
            chip_serial=str(data.get("chip_serial", "")),
            certificate_der=_b64(data, "certificate"),
            signature=_b64(data, "signature"),
            workstation=str(data.get("workstation", ""))[:100],
            client_address=client_address(request),
        )
    except DomainError as exc:
        return _error(exc)
    session, ticket, agent_token = done.session, done.ticket, done.agent_token
    role_count = getattr(session, "role_choices", 0)
    return JsonResponse(
        {
            "session": str(session.ref),
            "user_id": session.person.user_id,
            "name": session.person.full_name,
            "acr": session.acr,
            "sign_in_url": _ticket_url(request, ticket),
            "expires_at": session.expires_at.isoformat(),
            "agent_token": agent_token,
            "heartbeat_seconds": settings.CIS_SIGNIN_HEARTBEAT_SECONDS,
            "ends_on_card_removal": settings.CIS_SIGNIN_END_ON_CARD_REMOVAL,
            "role_count": role_count,
            "selected_roleid": str(session.selected_assignment_id or ""),
            "shared_card_flagged": session.shared_card_flagged_at is not None,
        },
        status=201,
    )


@csrf_exempt
@require_POST
def heartbeat(request: HttpRequest) -> JsonResponse:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    try:
        data = _body(request)
        session = session_heartbeat(
            agent_token=token, card_present=bool(data.get("card_present", True))
        )
    except DomainError as exc:
        return _error(exc)
    return JsonResponse({"session": str(session.ref), "live": session.ended_at is None})
