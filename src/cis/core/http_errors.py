"""Every error answer outside a view's own handling, shaped once: JSON for the API, a page else.

Django's own paths (no route, a body too large, an uncaught exception) come here through the
handler400/403/404/500 hooks in cis.config.urls; a DomainError or a database failure that escapes
a view comes here through FaultMiddleware. API clients always get the API's one JSON error shape
({"error", "detail"}), people a styled page; a database that is down or silent is a 503, not a 500.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from .errors import DomainError

logger = logging.getLogger(__name__)

UNAVAILABLE = "The service cannot reach its database just now. Try again in a minute."
RETRY_AFTER_SECONDS = 5

_TITLES = {
    400: ("bad_request", "The request could not be understood."),
    403: ("permission_denied", "You do not have permission to do this."),
    404: ("not_found", "Nothing here: check the address."),
    405: ("method_not_allowed", "This address does not accept that method."),
    413: ("request_too_large", "The request body is larger than the service accepts."),
    500: ("server_error", "Something went wrong on our side; nothing was changed."),
    503: ("unavailable", UNAVAILABLE),
}


def wants_json(request: HttpRequest) -> bool:
    """API routes, and clients that send or ask for JSON rather than a page."""
    if request.path.startswith("/api/"):
        return True
    if request.content_type == "application/json":
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(
    request: HttpRequest, status: int, *, code: str = "", detail: str = ""
) -> HttpResponse:
    """One error answer: the API's JSON shape, or the portal's page for that status."""
    default_code, default_detail = _TITLES.get(status, _TITLES[400 if status < 500 else 500])
    code, detail = code or default_code, detail or default_detail
    if wants_json(request):
        response: HttpResponse = JsonResponse({"error": code, "detail": detail}, status=status)
    else:
        response = HttpResponse(_page(request, status, detail), status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def _page(request: HttpRequest, status: int, detail: str) -> str:
    """The styled page; without the request's context when the database may be the problem."""
    name = f"{status}.html" if status in (403, 404, 500, 503) else "400.html"
    context: dict[str, Any] = {"reason": detail, "status": status}
    try:
        if status >= 500:
            # Context processors ask the database (who is signed in): not when it is failing.
            return loader.get_template(name).render(context)
        return loader.get_template(name).render(context, request)
    except Exception:  # noqa: BLE001 - the error page must never itself fail
        logger.exception("error page %s could not be rendered", name)
        return f"<!DOCTYPE html><title>Error {status}</title><h1>Error {status}</h1><p>{detail}</p>"


def for_exception(request: HttpRequest, exc: BaseException) -> HttpResponse | None:
    """The answer for an exception a view let escape, or None when it is a real fault (a 500)."""
    if isinstance(exc, DomainError):
        return error_response(request, exc.http_status, code=exc.code, detail=exc.message)
    if isinstance(exc, DatabaseError) and is_unavailable(exc):
        logger.warning("database unavailable: %s", type(exc).__name__)
        return error_response(request, 503)
    if isinstance(exc, RecursionError):
        return error_response(request, 400, detail="The request nests too deeply.")
    return None


def is_unavailable(exc: BaseException) -> bool:
    """A connection that could not be made, was lost, or timed out: the database, not the code."""
    from django.db import InterfaceError, OperationalError  # noqa: PLC0415 - Django's aliases

    return isinstance(exc, OperationalError | InterfaceError)


# Django's handlers (cis.config.urls names them).


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent):
        return error_response(request, 413)
    return error_response(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Called inside Django's except block: the exception that got here is still at hand.
    exc = sys.exc_info()[1]
    if exc is not None and (answer := for_exception(request, exc)) is not None:
        return answer
    return error_response(request, 500)
