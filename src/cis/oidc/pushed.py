"""POST /oidc/par: pushed authorization requests (RFC 9126).

A client posts its authorization request straight to CIS, authenticated as at the token
endpoint (client_secret_basic, client_secret_post or private_key_jwt), and is given a
`request_uri` (urn:ietf:params:oauth:request_uri:<random>) to send the browser to
/oidc/authorize with, beside its client_id. The request is checked here as /oidc/authorize
would check it (client, exact redirect_uri, response_type, scope, PKCE S256, prompt), so a bad
one is refused to the client, never shown to a person.

The request may come as a signed request object (`request=`, request_object.py), checked here;
its claims are then the pushed parameters. A request_uri is bound to the client that pushed it,
must be used within PUSHED_REQUEST_SECONDS, and is spent by the authorization response it
leads to (a code or an error): never used twice (§4). Only a digest of it is kept. The endpoint
is CSRF-exempt: it is a client-authenticated API, where no cookie counts.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import Application
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import Request
from oauthlib.oauth2.rfc6749 import errors as oauth_errors

from cis.core import clock
from cis.core.digests import secret_digest

from .constants import (
    PROMPT_VALUES,
    PUSHED_REQUEST_SECONDS,
    PUSHED_REQUEST_SIGN_IN_SECONDS,
    PUSHED_REQUEST_URI_PREFIX,
    issuer,
)
from .errors import INVALID_CLIENT, INVALID_REQUEST, INVALID_REQUEST_OBJECT
from .models import ClientRegistration, PushedRequest
from .request_object import RequestObjectRefused, request_params

# What authenticates the client at this endpoint: never part of the authorization request.
CLIENT_AUTH_PARAMS = ("client_secret", "client_assertion", "client_assertion_type")


def _error(error: str, description: str, status: int = 400) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def requires_par(client: Application) -> bool:
    registration = ClientRegistration.objects.filter(application=client).first()
    return bool(registration and registration.require_pushed_authorization_requests)


def requires_signed(client: Application) -> bool:
    registration = ClientRegistration.objects.filter(application=client).first()
    return bool(registration and registration.require_signed_request_object)


def check_authorization_params(core: Any, params: dict[str, str]) -> tuple[str, str] | None:
    """What is wrong with these authorization request parameters (as /oidc/authorize would
    find it: its error code and description), or None. The client and its redirect_uri are
    checked first, as there."""
    uri = "https://cis.invalid" + reverse("oauth2_provider:authorize") + "?" + urlencode(params)
    try:
        core.server.validate_authorization_request(uri, "GET", None, {})
    except oauth_errors.OAuth2Error as exc:
        return str(exc.error), str(exc.description or exc.error)
    if "request_uri" in params:
        return INVALID_REQUEST, "request_uri cannot itself be pushed."
    if params.get("code_challenge_method") != "S256":
        return INVALID_REQUEST, "PKCE with S256 is required."
    prompt = set(params.get("prompt", "").split())
    if not prompt <= set(PROMPT_VALUES) or ("none" in prompt and len(prompt) > 1):
        return INVALID_REQUEST, "The prompt value is not valid."
    return None


@method_decorator(csrf_exempt, name="dispatch")  # client-authenticated API: no cookies count
class PushedAuthorizationRequestView(OAuthLibMixin, View):  # type: ignore[misc]
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        core = self.get_oauthlib_core()
        uri, method, body, headers = core._extract_params(request)
        asked = Request(uri, method, body, headers)
        if not core.server.request_validator.authenticate_client(asked):
            response = _error(INVALID_CLIENT, "The client could not be authenticated.", 401)
            response["WWW-Authenticate"] = 'Basic realm="cis"'
            return response
        client: Application = asked.client
        params = {str(k): str(v) for k, v in request.POST.items() if k not in CLIENT_AUTH_PARAMS}
        if params.setdefault("client_id", client.client_id) != client.client_id:
            return _error(INVALID_REQUEST, "client_id is not the client that authenticated.")
        if any(len(request.POST.getlist(k)) > 1 for k in params):
            return _error(INVALID_REQUEST, "A parameter was given more than once.")
        signed = "request" in params
        if signed:
            try:
                params = request_params(params["request"], client, issuer=issuer(request))
            except RequestObjectRefused as exc:
                return _error(INVALID_REQUEST_OBJECT, str(exc))
        elif requires_signed(client):
            return _error(INVALID_REQUEST, "This client must send a signed request object.")
        problem = check_authorization_params(core, params)
        if problem is not None:
            return _error(*problem)
        request_uri = PUSHED_REQUEST_URI_PREFIX + secrets.token_urlsafe(32)
        PushedRequest.objects.create(
            digest=secret_digest(request_uri),
            client_id=client.client_id,
            params=params,
            signed=signed,
            expires_at=clock.now() + dt.timedelta(seconds=PUSHED_REQUEST_SECONDS),
        )
        response = JsonResponse(
            {"request_uri": request_uri, "expires_in": PUSHED_REQUEST_SECONDS}, status=201
        )
        response["Cache-Control"] = "no-store"
        return response


def open_pushed(request_uri: str, client_id: str) -> tuple[dict[str, str], bool] | None:
    """The pushed request's parameters, and whether they came signed, if `request_uri` is
    usable now by `client_id`; the first arrival starts its sign-in window. None for an
    unknown, spent, expired or other client's."""
    now = clock.now()
    with transaction.atomic():
        found = (
            PushedRequest.objects.select_for_update()
            .filter(digest=secret_digest(request_uri), client_id=client_id, used_at__isnull=True)
            .first()
        )
        if found is None:
            return None
        if found.opened_at is None:
            if now >= found.expires_at:
                return None
            found.opened_at = now
            found.expires_at = now + dt.timedelta(seconds=PUSHED_REQUEST_SIGN_IN_SECONDS)
            found.save(update_fields=["opened_at", "expires_at"])
        elif now >= found.expires_at:
            return None
    params = found.params
    if not isinstance(params, dict):
        return None
    return {str(k): str(v) for k, v in params.items()}, found.signed


def spend_pushed(request_uri: str) -> bool:
    """Spend the request_uri (its authorization response is being made); False if it already
    was, by a concurrent arrival."""
    spent = PushedRequest.objects.filter(
        digest=secret_digest(request_uri), used_at__isnull=True
    ).update(used_at=clock.now())
    return spent == 1
