"""Maps every error, domain or DRF, onto one JSON shape: {"error", "detail", "field"?}."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from cis.core.errors import DomainError, ProbableDuplicate, ValidationFailed


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"error": exc.code, "detail": exc.message}
        if exc.field:
            body["field"] = exc.field
        if isinstance(exc, ProbableDuplicate):
            body["matches"] = exc.matches
        return Response(body, status=exc.http_status)
    response = drf_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        # Keep DRF's status and headers (WWW-Authenticate, Retry-After); reshape only the body.
        response.data = _body(exc)
    return response


def _body(exc: exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_problem(exc.detail)
        body: dict[str, Any] = {"error": ValidationFailed.code, "detail": message}
        if field:
            body["field"] = field
        if isinstance(exc.detail, dict):
            body["errors"] = _flatten(exc.detail)
        return body
    code = exc.get_codes()
    return {"error": code if isinstance(code, str) else exc.default_code, "detail": str(exc.detail)}


def _first_problem(detail: Any, path: str = "") -> tuple[str, str]:
    """The first message in a DRF error tree, and the dotted path of the field it belongs to."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                return _first_problem(value, path)
            return _first_problem(value, f"{path}.{key}" if path else str(key))
    if isinstance(detail, list) and detail:
        return _first_problem(detail[0], path)
    return path, str(detail)


def _flatten(detail: Any, path: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            sub = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            for name, messages in _flatten(value, sub).items():
                out.setdefault(name, []).extend(messages)
    elif isinstance(detail, list):
        for item in detail:
            for name, messages in _flatten(item, path).items():
                out.setdefault(name, []).extend(messages)
    else:
        out.setdefault(path or "non_field_errors", []).append(str(detail))
    return out
