"""GET or POST /oidc/logout: RP-initiated logout, which also ends the CIS sign-in session.

A relying party may send its logout request by POST (RP-Initiated Logout 1.0 §2): that request
comes from another site, so it is exempt from CSRF, and is handled exactly as the same GET.
Only the confirmation form CIS itself shows (it carries `allow`) is checked for its CSRF token.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from oauth2_provider.views import RPInitiatedLogoutView

from cis.signin.models import EndReason
from cis.signin.services import session_expire


@method_decorator(csrf_exempt, name="dispatch")
class LogoutView(RPInitiatedLogoutView):  # type: ignore[misc]  # the toolkit ships no type hints
    template_name = "oidc/logout_confirm.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if "allow" in request.POST:
            confirmed: HttpResponseBase = csrf_protect(self._confirm)(request, *args, **kwargs)
            return confirmed
        request.GET = request.POST.copy()  # type: ignore[assignment]  # a QueryDict as Django's
        request.POST = QueryDict()
        response: HttpResponseBase = self.get(request, *args, **kwargs)
        return response

    def _confirm(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """The person's answer on CIS's own confirmation form (the toolkit's form handling)."""
        response: HttpResponseBase = super().post(request, *args, **kwargs)
        return response

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
