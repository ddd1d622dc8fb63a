"""GET or POST /oidc/userinfo: claims about the signed-in person, for an access token sent as a
bearer token, or with the DPoP scheme and a proof of the key it is bound to (RFC 9449 §7)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.views import UserInfoView as ToolkitUserInfoView

from . import dpop
from .constants import DPOP, issuer
from .errors import INVALID_DPOP_PROOF, INVALID_REQUEST, INVALID_TOKEN, USE_DPOP_NONCE


@method_decorator(csrf_exempt, name="dispatch")  # a bearer-token API: no cookies count here
class UserInfoView(ToolkitUserInfoView):  # type: ignore[misc]  # the toolkit ships no hints
    """The toolkit's endpoint, refusing tokens in the query string (RFC 9700 §4.3.2), and
    speaking DPoP: `Authorization: DPoP <token>` with a `DPoP` proof whose `ath` is the token's
    hash. The proof is checked here; whether the token is bound to the key it proved is checked
    by CisValidator.validate_bearer_token (a bound token sent as Bearer is refused there)."""

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
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        jkt = None
        if scheme.lower() == DPOP.lower():
            token = token.strip()
            try:
                jkt = dpop.proof_verify(
                    request.headers.get(dpop.HEADER),
                    method=request.method or "GET",
                    uri=issuer(request) + request.path,
                    access_token=token,
                )
            except dpop.NonceNeeded as exc:
                refused = _refused(USE_DPOP_NONCE, str(exc))
                refused[dpop.NONCE_HEADER] = dpop.nonce()  # §9: the nonce to use
                return refused
            except dpop.ProofRefused as exc:
                return _refused(INVALID_DPOP_PROOF, str(exc))
            # The toolkit reads only Bearer tokens; the proof for this one is checked above.
            request.META["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        with dpop.proving(jkt) as presented:
            response: HttpResponse = super().dispatch(request, *args, **kwargs)
        if response.status_code == 401:
            if presented.refused or jkt is not None:
                return _refused(
                    INVALID_TOKEN, presented.refused or "The access token is not valid."
                )
            # A bearer token refused: the toolkit's Bearer challenge, and DPoP offered beside it.
            bearer = response.get("WWW-Authenticate")
            response["WWW-Authenticate"] = (
                f"{bearer}, {dpop.challenge()}" if bearer else dpop.challenge()
            )
        elif jkt is not None and dpop.nonce_required():
            response[dpop.NONCE_HEADER] = dpop.nonce()  # §9: a fresh one for the next proof
        return response


def _refused(error: str, description: str) -> JsonResponse:
    """401 with a DPoP challenge (RFC 9449 §7.1) and the same error in the body."""
    response = JsonResponse({"error": error, "error_description": description}, status=401)
    response["WWW-Authenticate"] = dpop.challenge(error, description)
    response["Cache-Control"] = "no-store"
    return response
