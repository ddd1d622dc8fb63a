"""The CA's public HTTP face: the chain, CA certificates, the CRL and the OCSP responder."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from cis.core import clock, metrics
from cis.core.errors import InvalidState

from . import crl, ocsp, selectors
from .constants import (
    CERT_MEDIA_TYPE,
    CHAIN_MEDIA_TYPE,
    CRL_MEDIA_TYPE,
    MAX_OCSP_REQUEST_BYTES,
    OCSP_RESPONSE_MEDIA_TYPE,
)
from .models import AuthorityRole


def _not_set_up(exc: InvalidState) -> HttpResponse:
    return HttpResponse(exc.message, status=503, content_type="text/plain; charset=utf-8")


def _document(body: bytes, content_type: str, *, max_age: int, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = f"public, max-age={max_age}"
    response["ETag"] = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@require_GET
def chain(request: HttpRequest) -> HttpResponse:
    try:
        body = selectors.chain_pem()
    except InvalidState as exc:
        return _not_set_up(exc)
    return _document(body, CHAIN_MEDIA_TYPE, max_age=3600, filename="cis-ca-chain.pem")


@require_GET
def issuing_certificate(request: HttpRequest) -> HttpResponse:
    try:
        body = selectors.issuing_certificate_der()
    except InvalidState as exc:
        return _not_set_up(exc)
    return _document(body, CERT_MEDIA_TYPE, max_age=3600, filename="cis-issuing-ca.cer")


@require_GET
def root_certificate(request: HttpRequest) -> HttpResponse:
    try:
        body = selectors.root_certificate_der()
    except InvalidState as exc:
        return _not_set_up(exc)
    return _document(body, CERT_MEDIA_TYPE, max_age=3600, filename="cis-root-ca.cer")


@require_GET
def revocation_list(request: HttpRequest) -> HttpResponse:
    return _crl_document(AuthorityRole.ISSUING, "cis.crl")


@require_GET
def root_revocation_list(request: HttpRequest) -> HttpResponse:
    """The root CA's CRL, for clients that check the issuing CA certificate too."""
    return _crl_document(AuthorityRole.ROOT, "cis-root.crl")


def _crl_document(role: str, filename: str) -> HttpResponse:
    try:
        current = crl.current_crl(role)
    except InvalidState as exc:
        return _not_set_up(exc)
    # Short HTTP caching: a revocation republishes the CRL at once, and clients should see it.
    response = _document(current.der, CRL_MEDIA_TYPE, max_age=60, filename=filename)
    response["Last-Modified"] = http_date(current.this_update.timestamp())
    response["Expires"] = http_date(current.next_update.timestamp())
    return response


def _ocsp_response(answer: ocsp.OcspAnswer, *, cacheable: bool) -> HttpResponse:
    metrics.inc(metrics.OCSP_RESPONSES, status=answer.cert_status or answer.response_status)
    response = HttpResponse(answer.der, content_type=OCSP_RESPONSE_MEDIA_TYPE)
    if cacheable and answer.next_update and answer.this_update and not answer.nonce:
        # RFC 5019 §6: let HTTP caches keep a GET answer until it would be refreshed anyway.
        remaining = int((answer.next_update - clock.now()).total_seconds())
        max_age = max(0, min(remaining, 3600))
        response["Cache-Control"] = f"public, max-age={max_age}, no-transform, must-revalidate"
        response["Last-Modified"] = http_date(answer.this_update.timestamp())
        response["Expires"] = http_date((clock.now() + dt.timedelta(seconds=max_age)).timestamp())
        response["ETag"] = f'"{hashlib.sha256(answer.der).hexdigest()[:32]}"'
    else:
        response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_http_methods(["POST"])
def ocsp_post(request: HttpRequest) -> HttpResponse:
    body = request.read(MAX_OCSP_REQUEST_BYTES + 1)
    return _ocsp_response(ocsp.respond(body), cacheable=False)


@require_GET
def ocsp_get(request: HttpRequest, encoded: str) -> HttpResponse:
    """RFC 6960 Appendix A.1: the DER request, base64 then URL-encoded, in the path."""
    text = unquote(encoded)
    try:
        der = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        der = b""
    return _ocsp_response(ocsp.respond(der), cacheable=True)
