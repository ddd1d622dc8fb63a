"""Error pages that keep the person's place: a refused or expired form keeps what was typed.

Django calls `csrf_failure` (settings.CSRF_FAILURE_VIEW) when a form comes back without a valid
CSRF token: usually a page left open past the session, or a lost cookie. When the form came from
this site (its Origin or Referer is ours), the answers, apart from anything secret, are kept in
the session for the form page to show again (`kept_input`); a form posted from elsewhere keeps
nothing, so no other site can fill in a form for someone.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

logger = logging.getLogger(__name__)

KEPT_INPUT_KEY = "cis_kept_input"
# Never kept: anything that is, or could be, a secret or a single-use value.
_SECRET_PARTS = ("csrf", "passcode", "password", "code", "otp", "token", "secret", "pin", "csr")


def came_from(request: HttpRequest) -> str:
    """The page on this site the person came from (its path), or "" when there is none."""
    referer = request.headers.get("Referer", "")
    if not referer or not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    parts = urlsplit(referer)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return "" if path == request.get_full_path() else path


def _same_origin(request: HttpRequest) -> bool:
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    return bool(source) and url_has_allowed_host_and_scheme(
        source, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def _keepable(name: str) -> bool:
    lowered = name.lower()
    return not any(part in lowered for part in _SECRET_PARTS)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """The form's page had expired: say so, keep the answers, and offer the way back."""
    logger.info("form refused without a valid CSRF token: %s %s", request.path, reason)
    kept = False
    if request.method == "POST" and _same_origin(request) and hasattr(request, "session"):
        answers = {k: v for k, v in request.POST.lists() if _keepable(k) and any(v)}
        if answers:
            request.session[KEPT_INPUT_KEY] = {"path": request.path, "answers": answers}
            kept = True
    form_url = came_from(request) or request.path
    context: dict[str, Any] = {"form_url": form_url, "kept": kept}
    return render(request, "portal/errors/csrf.html", context, status=403)


def kept_input(request: HttpRequest) -> dict[str, Any]:
    """Answers kept for this page by csrf_failure, once, as a form's initial values."""
    session = getattr(request, "session", None)
    if session is None or KEPT_INPUT_KEY not in session:
        return {}
    stored = session.get(KEPT_INPUT_KEY) or {}
    if stored.get("path") != request.path:
        return {}
    del session[KEPT_INPUT_KEY]
    initial: dict[str, Any] = {}
    for name, values in stored.get("answers", {}).items():
        initial[name] = values if len(values) > 1 else values[0]
    # The NHS date input's three boxes come back as one field's [day, month, year].
    for name in [n for n in initial if n.endswith("_day")]:
        stem = name[: -len("_day")]
        if f"{stem}_month" in initial and f"{stem}_year" in initial:
            initial[stem] = [initial[f"{stem}_{part}"] for part in ("day", "month", "year")]
    return initial
