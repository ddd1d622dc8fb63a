"""/readyz (should this process be sent work?) and /metrics (Prometheus text format)."""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from cis.core import metrics

from .collectors import DatabaseCollector
from .readiness import readiness


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = readiness()
    ready = all(check.ok for check in checks)
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
    }
    response = JsonResponse(body, status=200 if ready else 503)
    response["Cache-Control"] = "no-store"
    return response


class _Scrape:
    """What one scrape reports: the counters (every worker's, in multiprocess mode) and the
    figures read from the database now."""

    def __init__(self) -> None:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            self.counted: Any = CollectorRegistry()
            multiprocess.MultiProcessCollector(self.counted)  # type: ignore[no-untyped-call] # the client's signature is untyped
        else:
            self.counted = metrics.REGISTRY

    def collect(self) -> Iterator[Any]:
        yield from self.counted.collect()
        yield from DatabaseCollector().collect()


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.CIS_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponse(
                "A bearer token is needed for /metrics.",
                status=401,
                content_type="text/plain; charset=utf-8",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    response = HttpResponse(generate_latest(_Scrape()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
