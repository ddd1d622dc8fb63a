"""Sign-in with a TLS client certificate, checked by a trusted reverse proxy (off by default).

The proxy (README: nginx) asks the browser for the card's certificate during the handshake,
which proves possession of the card's key, and passes the certificate on in a header. CIS
trusts that header only from CIS_TRUSTED_PROXIES, and then checks the certificate, card,
person and role exactly as for the agent's challenge-response.
"""

from __future__ import annotations

from urllib.parse import unquote, urlencode

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from cis.core.errors import DomainError

from .. import browser
from ..constants import GENERIC_FAILURE, TLS_VERIFY_HEADER
from ..network import client_address, from_trusted_proxy
from ..services import selected_role_still_held
from ..smartcard import tls_client_cert_sign_in


def _meta_name(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def tls_enabled() -> bool:
    return bool(settings.CIS_TLS_CLIENT_CERT_HEADER and settings.CIS_TRUSTED_PROXIES)


def presented_certificate(request: HttpRequest) -> bytes | None:
    """The DER certificate the trusted proxy verified, or None."""
    if not tls_enabled() or not from_trusted_proxy(request):
        return None
    if request.META.get(_meta_name(TLS_VERIFY_HEADER), "") != "SUCCESS":
        return None
    raw = unquote(str(request.META.get(_meta_name(settings.CIS_TLS_CLIENT_CERT_HEADER), "")))
    if not raw.strip():
        return None
    try:
        cert = x509.load_pem_x509_certificate(raw.replace("\t", "\n").encode())
    except ValueError:
        return None
    return cert.public_bytes(serialization.Encoding.DER)


class TlsSignInView(View):
    template_name = "signin/tls.html"

    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if not tls_enabled():
            raise Http404("Sign-in with a TLS client certificate is not set up here.")
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)
        return response

    def get(self, request: HttpRequest) -> HttpResponse:
        found = presented_certificate(request) is not None
        return render(request, self.template_name, {"found": found})

    def post(self, request: HttpRequest) -> HttpResponse:
        der = presented_certificate(request)
        if der is None:
            return render(
                request,
                self.template_name,
                {"found": False, "message": GENERIC_FAILURE},
                status=403,
            )
        try:
            session = tls_client_cert_sign_in(
                certificate_der=der, client_address=client_address(request)
            )
        except DomainError as exc:
            return render(
                request, self.template_name, {"found": True, "message": exc.message}, status=403
            )
        browser.attach(request, session)
        target = browser.pop_next(request)
        if not selected_role_still_held(session):
            return redirect(reverse("signin:role") + "?" + urlencode({"next": target}))
        return redirect(target)
