"""Request middleware: audit context, database time limits, faults, security headers."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from . import context, dbguard, http_errors

# The context of the request whose answer is being sent, until the server closes the response.
_finishing: contextvars.ContextVar[context.RequestContext | None] = contextvars.ContextVar(
    "cis_finishing_request", default=None
)


# Methods that change nothing (RFC 9110 "safe"); CSRF protection relies on the same promise.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestContextMiddleware:
    """Bind who is asking and from where; name the request in `X-Request-ID`; once the answer
    has been sent, run the work the request deferred (context.defer)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = "api" if request.path.startswith("/api/") else "portal"
        ctx = context.RequestContext(
            client_address=request.META.get("REMOTE_ADDR", ""),
            channel=channel,
            read_only=request.method in READ_ONLY_METHODS,
        )
        token = context.bind(ctx)
        try:
            response = self.get_response(request)
        finally:
            context.unbind(token)
        response["X-Request-ID"] = ctx.correlation_id
        if ctx.after_response:
            _finishing.set(ctx)
        return response


def _run_deferred(sender: Any, **kwargs: Any) -> None:
    """request_finished: the server has sent the answer and closed the response."""
    ctx = _finishing.get()
    if ctx is None:
        return
    _finishing.set(None)
    if dbguard.is_down():
        return  # the work writes to the database; the failure that tripped it was logged
    with dbguard.limited():
        context.run_deferred(ctx)


request_finished.connect(_run_deferred, dispatch_uid="cis.core.middleware.run_deferred")


class FaultMiddleware:
    """A DomainError or a lost database that escapes a view becomes its clear answer, not a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return http_errors.for_exception(request, exception)


class DatabaseGuardMiddleware:
    """Web requests wait on the database for a bounded time, and not at all while it is down.

    /healthz is let through: it reports the database's state itself (cis.core.dbguard).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if dbguard.is_down() and request.path != "/healthz":
            return http_errors.error_response(request, 503)
        with dbguard.limited():
            return self.get_response(request)


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy, a Permissions-Policy, and no caching by default.

    Pages and API answers carry personal data, so nothing is stored by browsers or proxies unless
    a view says otherwise (the CA's public files and OCSP answers set their own Cache-Control).
    The policy allows no inline script or style at all: code lives in static files.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.csp = content_security_policy()
        self.csp_header = (
            "Content-Security-Policy-Report-Only"
            if settings.CIS_CSP_REPORT_ONLY
            else "Content-Security-Policy"
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response[self.csp_header] = self.csp
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.setdefault("Cache-Control", "no-store")
        return response


# Features no page of CIS uses; security keys (WebAuthn) stay allowed for CIS's own pages.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), publickey-credentials-get=(self)"
)


def content_security_policy() -> str:
    """The one policy: only CIS's own files, the NHS.UK fonts, and the local card agent."""
    agent = str(settings.CIS_AGENT_URL)
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self' https://assets.nhs.uk",
        "connect-src": " ".join(filter(None, ["'self'", agent])),
        "object-src": "'none'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())
