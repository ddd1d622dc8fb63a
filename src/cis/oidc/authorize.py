"""GET /oidc/authorize: the code flow's front door, with sign-in, max_age and role selection.

Order of checks: the client and its exact redirect_uri (errors shown here, never redirected);
then PKCE S256; then whether the person is signed in recently enough (prompt, max_age); then
whether they have chosen the role they work in. Only then is a code issued.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.models import get_application_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView

from cis.core import clock
from cis.core.errors import DomainError
from cis.signin import browser
from cis.signin.models import SignInSession
from cis.signin.services import selected_role_still_held

from .errors import INTERACTION_REQUIRED, INVALID_REQUEST, LOGIN_REQUIRED, error_redirect


def _without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    encoded = query.urlencode()
    return request.path + (f"?{encoded}" if encoded else "")


class AuthorizeView(AuthorizationView):  # type: ignore[misc]  # the toolkit ships no type hints
    template_name = "oidc/authorize.html"

    def get_login_url(self) -> str:
        return str(resolve_url(settings.LOGIN_URL))

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and getattr(request, "signin_session", None) is None:
            # Only the demo signs people in without a sign-in session (the persona page).
            if not settings.CIS_DEMO_LOGIN:
                logout(request)
            else:
                try:
                    browser.demo_session(request)
                except DomainError as exc:
                    return render(
                        request, "oidc/authorize.html", {"message": exc.message}, status=403
                    )
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)
        return response

    def handle_no_permission(self) -> HttpResponseBase:
        prompt = set(self.request.GET.get("prompt", "").split())
        if "none" not in prompt:
            # After the agent hands the session to this browser, come back here.
            browser.remember_next(self.request, _without(self.request, "prompt"))
        response: HttpResponseBase = super().handle_no_permission()
        return response

    def _error(self, credentials: dict[str, Any], error: str) -> HttpResponse:
        application = get_application_model().objects.get(client_id=credentials["client_id"])
        iss = oauth2_settings.oauth2_authorization_server_issuer(self.request)
        target = error_redirect(
            credentials["redirect_uri"], error, state=credentials.get("state"), iss=iss
        )
        response: HttpResponse = OAuth2ResponseRedirect(target, application.get_allowed_schemes())
        return response

    def _reauthenticate(self, request: HttpRequest, *drop: str) -> HttpResponseBase:
        """Sign the browser out and send the person to sign in again, then back here."""
        logout(request)
        target = _without(request, *drop)
        browser.remember_next(request, target)
        return redirect_to_login(target, self.get_login_url())

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            _scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            response: HttpResponseBase = self.error_response(error, application=None)
            return response
        if request.GET.get("code_challenge_method") != "S256":
            return self._error(credentials, INVALID_REQUEST)
        session: SignInSession = request.signin_session  # type: ignore[attr-defined]
        prompt = set(request.GET.get("prompt", "").split())
        max_age = request.GET.get("max_age")
        if max_age is not None:
            if not max_age.isdigit():
                return self._error(credentials, INVALID_REQUEST)
            age = (clock.now() - session.auth_time).total_seconds()
            if age > int(max_age):
                if "none" in prompt:
                    return self._error(credentials, LOGIN_REQUIRED)
                return self._reauthenticate(request, "max_age", "prompt")
        if "login" in prompt:
            return self._reauthenticate(request, "prompt", "max_age")
        if not selected_role_still_held(session):
            if "none" in prompt:
                return self._error(credentials, INTERACTION_REQUIRED)
            choose = reverse("signin:role") + "?" + urlencode({"next": request.get_full_path()})
            return redirect(choose)
        response = super().get(request, *args, **kwargs)
        return response

    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> tuple[str, dict[str, str], str, int]:
        credentials["cis_session"] = request.signin_session  # type: ignore[attr-defined]
        result: tuple[str, dict[str, str], str, int] = super().create_authorization_response(
            request, scopes, credentials, allow
        )
        return result
