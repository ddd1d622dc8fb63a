"""POST /oidc/token: codes and refresh tokens exchanged for tokens (rules in validator.py)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.signals import app_authorized
from oauth2_provider.views import RevokeTokenView as ToolkitRevokeTokenView
from oauth2_provider.views import TokenView as ToolkitTokenView
from oauthlib.oauth2.rfc6749 import errors

from . import dpop
from .constants import GRANT_TYPES, issuer
from .errors import INVALID_DPOP_PROOF, USE_DPOP_NONCE
from .validator import ClaimLost, deferred_writes, run_writes


class TokenView(ToolkitTokenView):  # type: ignore[misc]  # the toolkit ships no type hints
    """The toolkit's token endpoint; CisValidator decides grants, PKCE, reuse and lineage.

    One exchange is one transaction: the code's claim, the ID token, the access and refresh
    tokens, their lineage and the code's deletion commit together (the toolkit alone would
    commit four times), and an unexpected error leaves nothing half-made.

    A code exchange first reads and decides (the validator collects its writes), then writes
    in one short transaction: on SQLite a transaction holds the single write lock throughout,
    and around the whole request it made every other worker wait. The code's claim is the
    first write and still the arbiter: if a concurrent exchange took the code in between, the
    writes are undone and the answer is invalid_grant. A refresh, and the toolkit's own path
    for app_authorized receivers (which reads the new token back), run in one transaction.
    """

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        grant_type = request.POST.get("grant_type")
        if grant_type not in GRANT_TYPES:
            # Refused before any client authentication or database work: at once, and in the
            # same time whichever unsupported grant it was (password, device_code, ...).
            if not grant_type:
                return _oauth_error(
                    errors.InvalidRequestError(description="grant_type is missing.")
                )
            return _oauth_error(errors.UnsupportedGrantTypeError())
        jkt = None
        if dpop.HEADER in request.headers:
            # RFC 9449 §5: a proof binds the tokens issued to its key (the validator does that).
            try:
                jkt = dpop.proof_verify(
                    request.headers[dpop.HEADER],
                    method="POST",
                    uri=issuer(request) + request.path,
                )
            except dpop.NonceNeeded as exc:
                refused = _oauth_error(errors.CustomOAuth2Error(USE_DPOP_NONCE, str(exc)))
                refused[dpop.NONCE_HEADER] = dpop.nonce()  # §8: the nonce to use
                return refused
            except dpop.ProofRefused as exc:
                return _oauth_error(errors.CustomOAuth2Error(INVALID_DPOP_PROOF, str(exc)))
        with dpop.proving(jkt):
            response = self._exchange(request, grant_type, *args, **kwargs)
        if jkt is not None and dpop.nonce_required():
            response[dpop.NONCE_HEADER] = dpop.nonce()  # §8.2: a fresh one for the next proof
        return response

    def _exchange(
        self, request: HttpRequest, grant_type: str, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        response: HttpResponse
        if grant_type != "authorization_code" or app_authorized.has_listeners():
            with transaction.atomic():
                response = super().post(request, *args, **kwargs)
            return response
        with deferred_writes() as pending:
            response = super().post(request, *args, **kwargs)
        if pending:  # a refused exchange may still have claimed (and so spent) its code
            try:
                run_writes(pending)
            except ClaimLost:
                if response.status_code == 200:
                    response = _oauth_error(errors.InvalidGrantError())
        return response

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        if app_authorized.has_listeners():
            # The toolkit reads the new token back from the database only to send this signal.
            response: HttpResponse = super().authorization_flow_token_response(
                request, *args, **kwargs
            )
            return response
        _url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response


def _oauth_error(error: errors.OAuth2Error) -> HttpResponse:
    """An error as oauthlib's token endpoint answers it (its default headers, then the error's)."""
    response = HttpResponse(content=error.json, status=error.status_code)
    headers = {
        "Content-Type": "application/json",
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        **error.headers,
    }
    for name, value in headers.items():
        response[name] = value
    return response


class RevokeTokenView(ToolkitRevokeTokenView):  # type: ignore[misc]
    """RFC 7009 revocation, for relying parties signing a person out."""
