"""The health check that load balancers and `make demo` poll."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse

from cis.core import dbguard


def healthz(request: HttpRequest) -> JsonResponse:
    if dbguard.is_down():
        return JsonResponse({"status": "unavailable", "database": False}, status=503)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        db_ok = True
    except Exception:  # noqa: BLE001 - any failure means "not healthy", reported not raised
        db_ok = False
    status = 200 if db_ok else 503
    return JsonResponse(
        {"status": "ok" if db_ok else "unavailable", "database": db_ok}, status=status
    )
