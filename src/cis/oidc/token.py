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


class TokenView(ToolkitTokenView):  # type: ignore[misc]  # the toolkit ships no type hints
    """The toolkit's token endpoint; CisValidator decides grants, PKCE, reuse and lineage.

    One exchange is one transaction: the code's claim, the ID token, the access and refresh
    tokens, their lineage and the code's deletion commit together (the toolkit alone would
    commit four times), and an unexpected error leaves nothing half-made.
    """

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with transaction.atomic():
            response: HttpResponse = super().post(request, *args, **kwargs)
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


class RevokeTokenView(ToolkitRevokeTokenView):  # type: ignore[misc]
    """RFC 7009 revocation, for relying parties signing a person out."""
