"""Binding a sign-in session to a browser: a fresh session id, and where to go next."""

from __future__ import annotations

from django.contrib.auth import login
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from .constants import ACR_AAL1, AMR_DEMO, NEXT_KEY, SESSION_REF_KEY
from .models import SignInMethod, SignInSession
from .network import client_address
from .services import session_bind_browser, session_start

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def attach(request: HttpRequest, session: SignInSession) -> None:
    """Sign the browser in as the session's person, under a new session id."""
    keep_next = request.session.get(NEXT_KEY, "")
    # login() always moves to a new session id (cycle_key, or flush for another person).
    login(request, session.person, backend=MODEL_BACKEND)
    request.session[SESSION_REF_KEY] = str(session.ref)
    if keep_next:
        request.session[NEXT_KEY] = keep_next
    request.session.save()
    session_bind_browser(session=session, session_key=request.session.session_key or "")
    request.signin_session = session  # type: ignore[attr-defined]


def demo_session(request: HttpRequest) -> SignInSession:
    """Demo only: the persona sign-in made no sign-in session; make one at the lowest level."""
    session = session_start(
        person=request.user,  # type: ignore[arg-type]  # signed in, so a Person
        method=SignInMethod.DEMO,
        acr=ACR_AAL1,
        amr=list(AMR_DEMO),
        workstation="browser (demo persona)",
        client_address=client_address(request),
    )
    request.session[SESSION_REF_KEY] = str(session.ref)
    request.session.save()
    session_bind_browser(session=session, session_key=request.session.session_key or "")
    request.signin_session = session  # type: ignore[attr-defined]
    return session


def safe_next(request: HttpRequest, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def remember_next(request: HttpRequest, target: str) -> None:
    if safe_next(request, target):
        request.session[NEXT_KEY] = target


def pop_next(request: HttpRequest, default: str = "") -> str:
    """Where to go after signing in: a remembered page (an OIDC request), or the home page."""
    stored = safe_next(request, str(request.session.pop(NEXT_KEY, "")))
    return stored or default or reverse("portal:home")
