"""GET or POST /oidc/userinfo: claims about the signed-in person, for a bearer access token."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.views import UserInfoView as ToolkitUserInfoView

from .errors import INVALID_REQUEST


@method_decorator(csrf_exempt, name="dispatch")  # a bearer-token API: no cookies count here
class UserInfoView(ToolkitUserInfoView):  # type: ignore[misc]  # the toolkit ships no hints
    """The toolkit's endpoint, refusing tokens in the query string (RFC 9700 §4.3.2)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "access_token" in request.GET:
            return JsonResponse(
                {
                    "error": INVALID_REQUEST,
                    "error_description": "Send the access token in the Authorization header "
                    "or the request body, never in the URL.",
                },
                status=400,
            )
        response: HttpResponse = super().dispatch(request, *args, **kwargs)
        return response
