"""Counts every HTTP request by route, method and status, and times it (cis_http_*)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from cis.core import metrics


def route_of(request: HttpRequest) -> str:
    """The URL pattern that answered ("api/v1/people/<str:user_id>/"), never the path itself,
    so that the number of label values stays bounded; "unmatched" for anything else."""
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", "") if match is not None else ""
    return f"/{route}" if route else "unmatched"


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_of(request)
        metrics.inc(
            metrics.HTTP_REQUESTS,
            route=route,
            method=request.method or "",
            status=str(response.status_code),
        )
        try:
            metrics.HTTP_DURATION.labels(route=route).observe(time.perf_counter() - started)
        except Exception:  # noqa: BLE001, S110 - timing must never fail a request
            pass
        return response
