"""GET or POST /oidc/authorize: the code flow's front door, with sign-in, step-up and roles.

Order of checks: a pushed request's request_uri (pushed.py, RFC 9126), whose parameters then
stand for the request's own; the client and its exact redirect_uri (errors shown here, never
redirected); whether the client must push its requests; a signed request object (`request=`,
request_object.py) whose claims alone are then the request, or refused with
invalid_request_object; whether the client must sign its requests; a request_uri from
elsewhere (never fetched: request_uri_not_supported); PKCE S256; prompt;
id_token_hint; whether the person is signed in recently enough (prompt, max_age) and strongly
enough (acr_values); then whether they have chosen the role they work in. Only then is a code
issued. Every answer sent back to the client carries `iss` (RFC 9207), errors included.

POST (OpenID Connect Core §3.1.2.1) carries the same parameters form-encoded. It is exempt from
CSRF: it is a protocol request from another site, whose every effect a GET has too, and CIS
never shows a consent form here (clinical systems are registered by the service desk).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.models import get_application_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView

from cis.core import clock
from cis.core.digests import secret_digest
from cis.core.errors import DomainError
from cis.signin import browser
from cis.signin.constants import ACR_ORDER
from cis.signin.models import SignInSession
from cis.signin.services import selected_role_still_held

from . import keys
from .constants import PROMPT_VALUES, PUSHED_REQUEST_URI_PREFIX, issuer
from .errors import (
    INTERACTION_REQUIRED,
    INVALID_REQUEST,
    INVALID_REQUEST_OBJECT,
    INVALID_REQUEST_URI,
    LOGIN_REQUIRED,
    REQUEST_URI_NOT_SUPPORTED,
    UNMET_AUTHENTICATION_REQUIREMENTS,
    error_redirect,
    with_iss,
)
from .models import PushedRequest
from .pushed import open_pushed, requires_par, requires_signed, spend_pushed
from .request_object import RequestObjectRefused, request_params

# The authorize request (its path and query) that sent this browser to sign in again for a
# stronger acr; a second arrival from it that is still too weak is refused, not looped.
STEP_UP_KEY = "cis_oidc_step_up"
# Where a request from a verified request object was sent on its way (sign-in, role choice).
SIGNED_RETURNS_KEY = "cis_oidc_signed_returns"


def _without(request: HttpRequest, *names: str) -> str:
    pushed = getattr(request, "cis_pushed", None)
    if pushed is not None:
        # A pushed request comes back by its request_uri; what must not repeat on the way
        # back (prompt=login, max_age) is dropped from the pushed parameters themselves.
        request_uri, _params = pushed
        PushedRequest.objects.filter(digest=secret_digest(request_uri)).update(
            params={k: v for k, v in request.GET.items() if k not in names}
        )
        query = QueryDict(mutable=True)
        query.update({"client_id": request.GET["client_id"], "request_uri": request_uri})
        return request.path + "?" + query.urlencode()
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    encoded = query.urlencode()
    target = request.path + (f"?{encoded}" if encoded else "")
    if getattr(request, "cis_signed", False):
        # The way back carries a signed request object's verified parameters: remember that
        # this browser's return to exactly them still counts as signed.
        request.session[SIGNED_RETURNS_KEY] = [
            *request.session.get(SIGNED_RETURNS_KEY, [])[-4:],
            target,
        ]
    return target


@method_decorator(csrf_exempt, name="dispatch")
class AuthorizeView(AuthorizationView):  # type: ignore[misc]  # the toolkit ships no type hints
    template_name = "oidc/authorize.html"

    def get_login_url(self) -> str:
        return str(resolve_url(settings.LOGIN_URL))

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST":
            # The same request as a GET with these parameters in its query (see the docstring).
            params = request.POST.copy()
            request.GET = params  # type: ignore[assignment]  # a QueryDict as Django's own
            request.POST = QueryDict()
            request.META["QUERY_STRING"] = params.urlencode()
            request.method = "GET"
        # The first arrival opens a pushed request (its sign-in window starts), signed in or not.
        request_uri = request.GET.get("request_uri", "")
        if request_uri.startswith(PUSHED_REQUEST_URI_PREFIX):
            opened = open_pushed(request_uri, request.GET.get("client_id", ""))
            if opened is None:
                return self._unusable_request_uri()
            pushed_params, signed = opened
            request.cis_signed = signed  # type: ignore[attr-defined]
            # RFC 9126 §4: the pushed parameters are the request; any others are ignored.
            pushed_query = QueryDict(mutable=True)
            pushed_query.update(pushed_params)
            request.GET = pushed_query  # type: ignore[assignment]  # a QueryDict as Django's
            request.META["QUERY_STRING"] = pushed_query.urlencode()
            request.cis_pushed = (request_uri, pushed_params)  # type: ignore[attr-defined]
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

    def redirect(self, redirect_to: str, application: Any) -> HttpResponse:
        """Every redirect back to the client, success or error, names this issuer (RFC 9207)."""
        self._spend()
        iss = oauth2_settings.oauth2_authorization_server_issuer(self.request)
        response: HttpResponse = super().redirect(with_iss(redirect_to, iss), application)
        return response

    def handle_no_permission(self) -> HttpResponseBase:
        prompt = set(self.request.GET.get("prompt", "").split())
        if "none" not in prompt:
            # After the agent hands the session to this browser, come back here.
            browser.remember_next(self.request, _without(self.request, "prompt"))
        response: HttpResponseBase = super().handle_no_permission()
        return response

    def _spend(self) -> bool:
        """A pushed request is spent by the authorization response it leads to (RFC 9126 §4)."""
        pushed = getattr(self.request, "cis_pushed", None)
        return pushed is None or spend_pushed(pushed[0])

    def _unusable_request_uri(self) -> HttpResponse:
        """An unknown, spent, expired or other client's request_uri: no redirect_uri can be
        trusted, so the person is told here (RFC 9101 §7's invalid_request_uri)."""
        return render(
            self.request,
            "oidc/authorize.html",
            {
                "error": {
                    "error": INVALID_REQUEST_URI,
                    "description": "This sign-in link has been used already or has expired. "
                    "Go back to the clinical system and start again.",
                }
            },
            status=400,
        )

    def _error(
        self, credentials: dict[str, Any], error: str, description: str = ""
    ) -> HttpResponse:
        self._spend()
        application = get_application_model().objects.get(client_id=credentials["client_id"])
        iss = oauth2_settings.oauth2_authorization_server_issuer(self.request)
        target = error_redirect(
            credentials["redirect_uri"],
            error,
            state=credentials.get("state"),
            iss=iss,
            description=description,
        )
        response: HttpResponse = OAuth2ResponseRedirect(target, application.get_allowed_schemes())
        return response

    def _reauthenticate(self, request: HttpRequest, *drop: str) -> HttpResponseBase:
        """Sign the browser out and send the person to sign in again, then back here."""
        logout(request)
        target = _without(request, *drop)
        browser.remember_next(request, target)
        return redirect_to_login(target, self.get_login_url())

    def _hinted_subject(self, request: HttpRequest, client_id: str) -> str | None:
        """The `sub` of a valid id_token_hint; ValueError when the hint is not one of ours.

        Valid means: signed by one of this provider's keys (never `alg: none` or HS256),
        issued by this issuer, and for this client. An expired token is still a good hint
        (Core §3.1.2.1: it names who the client believes is signed in).
        """
        hint = request.GET.get("id_token_hint")
        if hint is None:
            return None
        claims = keys.verify_jwt(hint)
        if claims is None:
            raise ValueError("The id_token_hint is not an ID token this provider signed.")
        iss = oauth2_settings.oauth2_authorization_server_issuer(request)
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if claims.get("iss") != iss or client_id not in audiences:
            raise ValueError(
                "The id_token_hint was issued by another issuer or for another client."
            )
        subject = claims.get("sub")
        if not isinstance(subject, str):
            raise ValueError("The id_token_hint names no subject.")
        return subject

    def _open_request_object(self, request: HttpRequest) -> str | None:
        """`request=` (RFC 9101): its claims become the request's parameters, and nothing
        outside it counts (§6.3). Why it cannot be used, or None."""
        client = (
            get_application_model()
            .objects.filter(client_id=request.GET.get("client_id", ""))
            .first()
        )
        if client is None:
            return "The request object's client is not registered."
        try:
            params = request_params(request.GET["request"], client, issuer=issuer(request))
        except RequestObjectRefused as exc:
            # Only the outer request is left to answer by (its client and redirect_uri).
            without = request.GET.copy()
            del without["request"]
            request.GET = without  # type: ignore[assignment]  # a QueryDict as Django's own
            request.META["QUERY_STRING"] = without.urlencode()
            return str(exc)
        query = QueryDict(mutable=True)
        query.update(params)
        request.GET = query  # type: ignore[assignment]  # a QueryDict as Django's own
        request.META["QUERY_STRING"] = query.urlencode()
        request.cis_signed = True  # type: ignore[attr-defined]
        return None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        refused_object = self._open_request_object(request) if "request" in request.GET else None
        returns = request.session.get(SIGNED_RETURNS_KEY, [])
        if request.get_full_path() in returns:
            request.cis_signed = True  # type: ignore[attr-defined]
        claims_request = request.GET.get("claims")
        claims_invalid = claims_request is not None and not _claims_request_valid(claims_request)
        if claims_invalid:
            # oauthlib would refuse it on a page of its own; the client is told instead, once
            # the client and its redirect_uri are known to be good (below).
            without = request.GET.copy()
            del without["claims"]
            request.GET = without  # type: ignore[assignment]  # a QueryDict as Django's own
            request.META["QUERY_STRING"] = without.urlencode()
        try:
            _scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            response: HttpResponseBase = self.error_response(error, application=None)
            return response
        pushed = getattr(request, "cis_pushed", None) is not None
        if not pushed and requires_par(
            get_application_model().objects.get(client_id=credentials["client_id"])
        ):
            return self._error(
                credentials,
                INVALID_REQUEST,
                "This client must push its authorization requests (PAR, RFC 9126).",
            )
        if refused_object is not None:
            return self._error(credentials, INVALID_REQUEST_OBJECT, refused_object)
        signed = bool(getattr(request, "cis_signed", False))
        if not signed and requires_signed(
            get_application_model().objects.get(client_id=credentials["client_id"])
        ):
            return self._error(
                credentials, INVALID_REQUEST, "This client must send a signed request object."
            )
        if "request_uri" in request.GET:
            return self._error(
                credentials, REQUEST_URI_NOT_SUPPORTED, "request_uri is not accepted here."
            )
        if request.GET.get("code_challenge_method") != "S256":
            return self._error(credentials, INVALID_REQUEST, "PKCE with S256 is required.")
        prompt = set(request.GET.get("prompt", "").split())
        if not prompt <= set(PROMPT_VALUES) or ("none" in prompt and len(prompt) > 1):
            return self._error(credentials, INVALID_REQUEST, "The prompt value is not valid.")
        if claims_invalid:
            return self._error(credentials, INVALID_REQUEST, "The claims parameter is not valid.")
        try:
            hinted = self._hinted_subject(request, credentials["client_id"])
        except ValueError as exc:
            return self._error(credentials, INVALID_REQUEST, str(exc))
        session: SignInSession = request.signin_session  # type: ignore[attr-defined]
        if hinted is not None and hinted != session.person.user_id:
            # Someone else is signed in here than the client expects.
            if "none" in prompt:
                return self._error(credentials, LOGIN_REQUIRED)
            return self._reauthenticate(request, "prompt", "max_age", "id_token_hint")
        max_age = request.GET.get("max_age")
        if max_age is not None:
            if not max_age.isdigit():
                return self._error(credentials, INVALID_REQUEST, "max_age must be whole seconds.")
            age = (clock.now() - session.auth_time).total_seconds()
            if age > int(max_age):
                if "none" in prompt:
                    return self._error(credentials, LOGIN_REQUIRED)
                return self._reauthenticate(request, "max_age", "prompt")
        if "login" in prompt:
            return self._reauthenticate(request, "prompt", "max_age")
        stepped = self._step_up(request, session, credentials, prompt)
        if stepped is not None:
            return stepped
        if "select_account" in prompt or not selected_role_still_held(session):
            # A CIS account is one person; what they select is the role they work in.
            if "none" in prompt:
                return self._error(credentials, INTERACTION_REQUIRED)
            query = _without(request, "prompt")
            choose = reverse("signin:role") + "?" + urlencode({"next": query})
            return redirect(choose)
        if pushed and not self._spend():  # a concurrent arrival spent it first
            return self._unusable_request_uri()
        request.cis_pushed = None  # type: ignore[attr-defined]  # spent: the redirect is final
        response = super().get(request, *args, **kwargs)
        return response

    def _step_up(
        self,
        request: HttpRequest,
        session: SignInSession,
        credentials: dict[str, Any],
        prompt: set[str],
    ) -> HttpResponseBase | None:
        """acr_values (or the `claims` parameter's id_token `acr` value or values, Core
        §5.5.1.1): met by a sign-in at least as strong as the weakest level asked for.

        Unknown values are ignored (Core §3.1.2.1 makes them voluntary); a request naming only
        unknown values is met by any sign-in. Too weak a sign-in signs in again, with the card
        (the only way to AAL3); arriving back still too weak is refused, never looped.
        """
        values = [*request.GET.get("acr_values", "").split(), *_acr_claim_values(request)]
        asked = [ACR_ORDER[v] for v in values if v in ACR_ORDER]
        if not asked or ACR_ORDER.get(session.acr, 0) >= min(asked):
            request.session.pop(STEP_UP_KEY, None)
            return None
        target = _without(request, "prompt", "max_age")
        if "none" in prompt:
            return self._error(credentials, LOGIN_REQUIRED, "A stronger sign-in is needed.")
        if request.session.get(STEP_UP_KEY) == target:
            request.session.pop(STEP_UP_KEY, None)
            return self._error(
                credentials,
                UNMET_AUTHENTICATION_REQUIREMENTS,
                "The sign-in was not strong enough for the acr_values asked for.",
            )
        response = self._reauthenticate(request, "prompt", "max_age")
        request.session[STEP_UP_KEY] = target
        return response

    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> tuple[str, dict[str, str], str, int]:
        credentials["cis_session"] = request.signin_session  # type: ignore[attr-defined]
        result: tuple[str, dict[str, str], str, int] = super().create_authorization_response(
            request, scopes, credentials, allow
        )
        return result


def _acr_claim_values(request: HttpRequest) -> list[str]:
    """The acr levels the `claims` parameter asks of the ID token (already checked as JSON)."""
    raw = request.GET.get("claims")
    if not raw:
        return []
    member = (json.loads(raw).get("id_token") or {}).get("acr")
    if not isinstance(member, dict):
        return []
    values = member.get("values")
    if isinstance(values, list):
        return [v for v in values if isinstance(v, str)]
    value = member.get("value")
    return [value] if isinstance(value, str) else []


def _claims_request_valid(value: str) -> bool:
    """The claims parameter (Core §5.5): a JSON object of userinfo/id_token members."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return False
    return isinstance(parsed, dict) and all(
        key in ("userinfo", "id_token") and (member is None or isinstance(member, dict))
        for key, member in parsed.items()
    )
