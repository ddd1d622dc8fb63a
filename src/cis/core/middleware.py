"""Binds the client address and a correlation id to each request for the audit trail."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import context


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = "api" if request.path.startswith("/api/") else "portal"
        token = context.bind(
            context.RequestContext(
                client_address=request.META.get("REMOTE_ADDR", ""), channel=channel
            )
        )
        try:
            return self.get_response(request)
        finally:
            context.unbind(token)
