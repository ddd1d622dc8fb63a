"""Security keys in the browser: register one (signed in), sign in with one, remove one.

The ceremonies need JavaScript (navigator.credentials); the challenge id is kept in the
browser's session, so a ceremony started in one browser cannot be finished in another.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from cis.core.errors import DomainError
from cis.people.models import Person

from .. import browser
from ..constants import WEBAUTHN_CHALLENGE_KEY
from ..models import WebAuthnCredential
from ..network import client_address
from ..services import selected_role_still_held
from ..webauthn import (
    RelyingParty,
    authenticator_register,
    authenticator_revoke,
    parse_credential,
    registration_begin,
    relying_party_for,
    signin_begin,
    webauthn_sign_in,
)


def relying_party(request: HttpRequest) -> RelyingParty:
    return relying_party_for(host=request.get_host(), scheme=request.scheme or "https")


def _error(exc: DomainError) -> JsonResponse:
    return JsonResponse({"error": exc.code, "message": exc.message}, status=exc.http_status)


class SignInPage(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "signin/webauthn_sign_in.html", {})


class SignInOptions(View):
    def post(self, request: HttpRequest) -> HttpResponse:
        ceremony = signin_begin(rp=relying_party(request), client_address=client_address(request))
        request.session[WEBAUTHN_CHALLENGE_KEY] = ceremony.challenge_id
        return HttpResponse(ceremony.options_json, content_type="application/json")


class SignInVerify(View):
    def post(self, request: HttpRequest) -> HttpResponse:
        challenge_id = str(request.session.pop(WEBAUTHN_CHALLENGE_KEY, ""))
        try:
            session = webauthn_sign_in(
                rp=relying_party(request),
                challenge_id=challenge_id,
                credential=parse_credential(request.body),
                client_address=client_address(request),
            )
        except DomainError as exc:
            return _error(exc)
        browser.attach(request, session)
        target = browser.pop_next(request)
        if not selected_role_still_held(session):
            target = reverse("signin:role") + "?next=" + target
        return JsonResponse({"next": target})


class AuthenticatorsView(LoginRequiredMixin, View):
    """Your security keys: the list, and removing one."""

    def get(self, request: HttpRequest) -> HttpResponse:
        person: Person = request.user  # type: ignore[assignment]
        keys = WebAuthnCredential.objects.filter(person=person, revoked_at__isnull=True)
        return render(request, "signin/authenticators.html", {"keys": keys})

    def post(self, request: HttpRequest) -> HttpResponse:
        person: Person = request.user  # type: ignore[assignment]
        key = WebAuthnCredential.objects.filter(
            pk=request.POST.get("remove", "0") if request.POST.get("remove", "").isdigit() else 0,
            person=person,
        ).first()
        if key is None:
            raise Http404("No such security key.")
        authenticator_revoke(actor=person, credential=key)
        messages.success(request, f"Removed {key.name}.")
        return redirect("signin:authenticators")


class RegisterOptions(LoginRequiredMixin, View):
    def post(self, request: HttpRequest) -> HttpResponse:
        person: Person = request.user  # type: ignore[assignment]
        try:
            ceremony = registration_begin(
                actor=person,
                rp=relying_party(request),
                session=getattr(request, "signin_session", None),
            )
        except DomainError as exc:
            return _error(exc)
        request.session[WEBAUTHN_CHALLENGE_KEY] = ceremony.challenge_id
        return HttpResponse(ceremony.options_json, content_type="application/json")


class RegisterVerify(LoginRequiredMixin, View):
    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        person: Person = request.user  # type: ignore[assignment]
        challenge_id = str(request.session.pop(WEBAUTHN_CHALLENGE_KEY, ""))
        try:
            body = parse_credential(request.body)
            key = authenticator_register(
                actor=person,
                rp=relying_party(request),
                session=getattr(request, "signin_session", None),
                challenge_id=challenge_id,
                credential=body.get("credential", {}),
                name=str(body.get("name", "")),
            )
        except DomainError as exc:
            return _error(exc)
        return JsonResponse({"id": key.pk, "name": key.name}, status=201)
