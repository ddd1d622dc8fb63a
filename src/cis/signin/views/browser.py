"""The browser's sign-in pages: take over the agent's session, choose a role, sign out."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from cis.core.errors import DomainError
from cis.oidc.claims import role_claims
from cis.people.models import Person

from .. import browser
from ..models import EndReason, SignInSession
from ..services import (
    selected_role_still_held,
    session_end,
    session_select_role,
    session_ticket_redeem,
)


class TicketView(View):
    """GET shows whose sign-in this is; POST (with a CSRF token) takes it over in this browser.

    Requiring the POST stops a page elsewhere from signing a browser in as someone else.
    """

    template_name = "signin/ticket.html"

    def get(self, request: HttpRequest, secret: str) -> HttpResponse:
        return render(request, self.template_name, {"secret": secret})

    def post(self, request: HttpRequest, secret: str) -> HttpResponse:
        try:
            session = session_ticket_redeem(secret=secret)
        except DomainError as exc:
            return render(
                request, self.template_name, {"secret": "", "message": exc.message}, status=410
            )
        browser.attach(request, session)
        target = browser.pop_next(request)
        if not selected_role_still_held(session):
            return redirect(reverse("signin:role") + "?" + urlencode({"next": target}))
        return redirect(target)


class SignedInView(LoginRequiredMixin, View):
    request: HttpRequest

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and getattr(request, "signin_session", None) is None:
            messages.info(request, "Sign in with your smartcard to choose a role.")
            return redirect("portal:home")
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)
        return response

    @property
    def session(self) -> SignInSession:
        return self.request.signin_session  # type: ignore[attr-defined,no-any-return]

    @property
    def person(self) -> Person:
        return self.request.user  # type: ignore[return-value]


class RoleView(SignedInView):
    template_name = "signin/role.html"

    def _render(self, request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
        roles = role_claims(self.person)
        return render(
            request,
            self.template_name,
            {
                "roles": roles,
                "selected": str(self.session.selected_assignment_id or ""),
                "next": browser.safe_next(request, request.GET.get("next", "")),
                "error": error,
            },
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        choice = request.POST.get("assignment", "")
        try:
            if not choice.isdigit():
                raise DomainError("Choose the role you are working in today.")
            session_select_role(actor=self.person, session=self.session, assignment_id=int(choice))
        except DomainError as exc:
            return self._render(request, exc.message, status=400)
        target = browser.safe_next(request, request.POST.get("next", "")) or reverse("portal:home")
        return redirect(target)


class SignOutView(View):
    """Signing out always ends the browser's session, however it was signed in."""

    def post(self, request: HttpRequest) -> HttpResponse:
        session: SignInSession | None = getattr(request, "signin_session", None)
        if session is not None and isinstance(request.user, Person):
            session_end(actor=request.user, session=session, reason=EndReason.SIGNED_OUT)
        logout(request)
        messages.info(request, "You have signed out.")
        return redirect("portal:sign-in")
