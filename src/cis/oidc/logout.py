"""GET or POST /oidc/logout: RP-initiated logout, which also ends the CIS sign-in session."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from oauth2_provider.views import RPInitiatedLogoutView

from cis.signin.models import EndReason
from cis.signin.services import session_expire


class LogoutView(RPInitiatedLogoutView):  # type: ignore[misc]  # the toolkit ships no type hints
    template_name = "oidc/logout_confirm.html"

    def do_logout(
        self,
        application: Any = None,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
        token_user: Any = None,
    ) -> HttpResponse:
        session = getattr(self.request, "signin_session", None)
        if session is not None:
            session_expire(session=session, reason=EndReason.RP_LOGOUT)
        response: HttpResponse = super().do_logout(
            application, post_logout_redirect_uri, state, token_user
        )
        return response
