"""Prometheus metrics: one set of names (all `cis_`), counted in every process that serves.

Under `cis serve` several gunicorn workers answer requests, so counters live in the
prometheus_client multiprocess directory (`PROMETHEUS_MULTIPROC_DIR`, set by `cis serve` before
anything imports the client) and `/metrics` adds up every worker's files, those of workers since
restarted included. Figures that are facts in the database (queue sizes and ages, job runs) are
read when scraped, by `cis.ops.metrics`, not counted here.

Count with `inc(COUNTER, label=value)`: a failure to count never fails the work being counted.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram

from .errors import DomainError, NotPermitted

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

# CIS's own metrics only: the client's default registry adds process_* and python_* names.
# (With PROMETHEUS_MULTIPROC_DIR set, values go to that directory's files whatever the registry.)
REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "cis_http_requests",
    "HTTP requests answered, by route (the URL pattern), method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "cis_http_request_duration_seconds",
    "Time to answer an HTTP request, by route.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
SIGN_INS = Counter(
    "cis_sign_ins",
    "Sign-in attempts that finished, by method (smartcard, security_key, ...) and result.",
    ["method", "result"],
    registry=REGISTRY,
)
OCSP_RESPONSES = Counter(
    "cis_ocsp_responses",
    "OCSP responses sent, by status (good, revoked, unknown, or the error status).",
    ["status"],
    registry=REGISTRY,
)
CERTIFICATES_ISSUED = Counter("cis_certificates_issued", "Certificates issued.", registry=REGISTRY)
CERTIFICATES_REVOKED = Counter(
    "cis_certificates_revoked", "Certificates revoked, by reason.", ["reason"], registry=REGISTRY
)


def inc(counter: Counter, amount: float = 1, **labels: str) -> None:
    """Count, never raising: metrics must not turn a success into an error."""
    try:
        (counter.labels(**labels) if labels else counter).inc(amount)
    except Exception:  # noqa: BLE001 - logged; the counted work has already succeeded
        logger.warning("could not count %s", counter, exc_info=True)


def counts_sign_ins(method: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Count each call of a sign-in function by how it ended: success, refused (the policy or
    the proof said no), the domain error's code, or error (anything unexpected)."""

    def wrap(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def counted(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                result = function(*args, **kwargs)
            except NotPermitted:
                inc(SIGN_INS, method=method, result="refused")
                raise
            except DomainError as exc:
                inc(SIGN_INS, method=method, result=exc.code)
                raise
            except Exception:
                inc(SIGN_INS, method=method, result="error")
                raise
            inc(SIGN_INS, method=method, result="success")
            return result

        return counted

    return wrap
