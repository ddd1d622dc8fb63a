"""Request guards for sign-in: the network allowlist and the life of a sign-in session."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cis.core import clock

from .constants import SESSION_REF_KEY, TOUCH_EVERY_SECONDS
from .models import EndReason, SignInSession
from .network import client_address, network_allowed
from .services import expiry_reason, session_expire, session_touch

ENDED_MESSAGES = {
    EndReason.IDLE: "You were signed out because you had not used the service for a while.",
    EndReason.ABSOLUTE: "You were signed out because your session reached its time limit.",
    EndReason.CARD_REMOVED: "You were signed out because your smartcard was removed.",
}


class NetworkRestrictionMiddleware:
    """Off unless CIS_ALLOWED_NETWORKS is set; then only those networks reach the portal."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not network_allowed(request):
            return render(
                request,
                "signin/network_refused.html",
                {"client_address": client_address(request)},
                status=403,
            )
        return self.get_response(request)


class SignInSessionMiddleware:
    """Attaches the live sign-in session to the request, and ends it when its time is up.

    A browser whose sign-in session was ended elsewhere (card cancelled, profile closed, an
    administrator) is signed out on its next request even if its cookie survived.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.signin_session = None  # type: ignore[attr-defined]
        ref = request.session.get(SESSION_REF_KEY) if hasattr(request, "session") else None
        if ref:
            self._attach(request, str(ref))
        if (
            settings.CIS_REQUIRE_SIGNIN_SESSION
            and request.signin_session is None  # type: ignore[attr-defined]
            and request.user.is_authenticated
        ):
            # Production: a Django login that no sign-in made (no smartcard, security key or
            # TLS session behind it) is not a session at all.
            logout(request)
        attached: SignInSession | None = request.signin_session  # type: ignore[attr-defined]
        response = self.get_response(request)
        if attached is not None and not request.user.is_authenticated:
            # Signed out in this request (the portal's sign-out, say): the session ends too.
            session_expire(session=attached, reason=EndReason.SIGNED_OUT)
        return response

    def _attach(self, request: HttpRequest, ref: str) -> None:
        session = (
            SignInSession.objects.select_related(
                "person", "selected_assignment__position__organisation"
            )
            .filter(ref=ref)
            .first()
        )
        if (
            session is None
            or session.ended_at is not None
            or session.person_id != getattr(request.user, "pk", None)
        ):
            logout(request)
            return
        reason = expiry_reason(session)
        if reason:
            session_expire(session=session, reason=reason)
            logout(request)
            if reason in ENDED_MESSAGES:
                messages.info(request, ENDED_MESSAGES[EndReason(reason)])
            return
        if (clock.now() - session.last_seen_at).total_seconds() >= TOUCH_EVERY_SECONDS:
            session_touch(session)
        request.signin_session = session  # type: ignore[attr-defined]
