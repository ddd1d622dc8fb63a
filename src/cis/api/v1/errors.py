"""Maps the domain error tree onto HTTP responses, once, for the whole API."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from cis.core.errors import DomainError, ProbableDuplicate


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"error": exc.code, "detail": exc.message}
        if exc.field:
            body["field"] = exc.field
        if isinstance(exc, ProbableDuplicate):
            body["matches"] = exc.matches
        return Response(body, status=exc.http_status)
    return drf_handler(exc, context)
