"""Reports and directory search read from a streaming replica, if any; the rest on the primary.

Active only when `CIS_DATABASE_REPLICA_URL` is set (the `replica` alias beside `default`):

- A view marked with `@reads_from_replica` (directory search, reports) reads from the replica,
  for GET and HEAD only. Every other view, every write, every statement inside a transaction
  (services lock and re-read what they change) and every raw statement (`cis.core.sql`) stays
  on the primary; migrations run only on the primary.
- Reads after a write stay on the primary. Within a request: once the view has written, its
  reads go to the primary. Across requests: the response to any request that wrote (ran any
  statement but a SELECT on the primary, through the ORM or raw SQL) carries the primary's WAL
  position after the write (cookie `cis_wal`), and that client's next marked
  request reads from the replica only once the replica has replayed up to it (one
  `pg_last_wal_replay_lsn()` comparison), else from the primary. So a client that keeps cookies
  always reads its own writes, however far the replica lags; others may see the replica's lag
  (normally well under a second).
- A replica that is down, not a standby, or fails the check: the request reads from the primary
  and a warning is logged, never an error. A failed connection trips `cis.core.dbguard`'s
  breaker for the replica, so later requests skip it without waiting until it answers again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse

from . import dbguard

logger = logging.getLogger(__name__)

PRIMARY = "default"
REPLICA = "replica"
WAL_COOKIE = "cis_wal"
WAL_COOKIE_SECONDS = 300  # far longer than any healthy replica lags
_READ_METHODS = frozenset({"GET", "HEAD"})

Marked = TypeVar("Marked")


def reads_from_replica(view: Marked) -> Marked:
    """Mark a view (class or function) whose GET reads may be answered from the replica."""
    view.reads_from_replica = True  # type: ignore[attr-defined]  # a marker the middleware reads
    return view


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@dataclass
class _Request:
    client_wal: str  # the WAL position of this client's last write ("" if none known)
    replica_reads: bool = False  # a marked view is running and has not written
    wrote: bool = False  # this request has written (the middleware's bookkeeping included)
    replica_ready: bool | None = None  # decided at the first replica read, then kept


_current: ContextVar[_Request | None] = ContextVar("cis_dbrouting", default=None)


class ReplicaRouter:
    """Django's database router: the replica only for a marked request that has not written."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        state = _current.get()
        if state is None or not state.replica_reads:
            return PRIMARY
        if connections[PRIMARY].in_atomic_block:
            return PRIMARY  # a transaction reads what it is about to change on the primary
        if state.replica_ready is None:
            state.replica_ready = _replica_ready(state.client_wal)
        return REPLICA if state.replica_ready else PRIMARY

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        state = _current.get()
        if state is not None:
            state.wrote = True
            state.replica_reads = False  # from now on this request reads what it wrote
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replica is a copy of the primary: same rows, same ids

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY


def _replica_ready(client_wal: str) -> bool:
    """The replica answers, is a standby, and has replayed this client's last write."""
    if dbguard.is_down(REPLICA):
        return False
    replica = connections[REPLICA]
    try:
        with replica.cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= %s::pg_lsn",
                [client_wal or "0/0"],
            )
            standby, caught_up = cursor.fetchone()
    except DatabaseError:
        logger.warning("replica unavailable: reading from the primary", exc_info=True)
        with contextlib.suppress(DatabaseError):
            replica.close()
        dbguard.trip(replica)
        return False
    if not standby:
        logger.warning("replica is not a standby (promoted?): reading from the primary")
        return False
    return bool(caught_up)


def _note_writes(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Any statement on the primary but a SELECT counts as a write: the ORM's, and the raw SQL
    of the hot paths (cis.core.sql), which the router never sees."""
    if not sql.lstrip()[:6].upper().startswith("SELECT"):
        state = _current.get()
        if state is not None:
            state.wrote = True
            state.replica_reads = False
    return execute(sql, params, many, context)


def _primary_wal() -> str:
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return str(cursor.fetchone()[0])


def _client_wal(request: HttpRequest) -> str:
    value = request.COOKIES.get(WAL_COOKIE, "")
    # A WAL position is two hex numbers; anything else is ignored (a forged position can only
    # send its own client to the primary, or show it the replica's lag).
    high, _, low = value.partition("/")
    hex_digits = set("0123456789ABCDEFabcdef")
    if 0 < len(high) <= 8 and 0 < len(low) <= 8 and set(high + low) <= hex_digits:
        return value
    return ""


class ReplicaRoutingMiddleware:
    """Holds the request's routing state, marks replica-read views, and hands out `cis_wal`.

    Placed before the session middleware, so that a session saved at the end of a request
    counts as a write.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not replica_configured():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        state = _Request(client_wal=_client_wal(request))
        token = _current.set(state)
        try:
            with connections[PRIMARY].execute_wrapper(_note_writes):
                response = self.get_response(request)
            if state.wrote:
                with contextlib.suppress(DatabaseError):
                    response.set_cookie(
                        WAL_COOKIE,
                        _primary_wal(),
                        max_age=WAL_COOKIE_SECONDS,
                        httponly=True,
                        samesite="Lax",
                        secure=settings.SESSION_COOKIE_SECURE,
                    )
            return response
        finally:
            _current.reset(token)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> None:
        marked = getattr(view, "reads_from_replica", False) or getattr(
            getattr(view, "view_class", None), "reads_from_replica", False
        )
        state = _current.get()
        if state is not None and marked and request.method in _READ_METHODS:
            state.replica_reads = True
