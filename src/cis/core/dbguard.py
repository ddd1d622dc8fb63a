"""Time limits on PostgreSQL for web requests: a silent or stopped database is a 503 in seconds.

Three parts, all per process:

- a connect timeout (libpq's connect_timeout, set in the settings) on every connection;
- a statement time limit for web requests: a watchdog thread shuts down the socket of any
  statement a request has waited on for longer than CIS_DB_QUERY_TIMEOUT_SECONDS, so that the
  driver raises OperationalError (answered as a 503) instead of waiting for as long as a silent
  database stays silent (PostgreSQL's own statement_timeout cannot help when it is the server
  that does not answer);
- a breaker: once a connection could not be made or a statement was cut, requests are answered
  503 at once while a background probe starts a fresh connection every half second (not waiting
  for slower attempts); the first that answers closes the breaker, so the service recovers by
  itself within about a second of the database answering again.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

PROBE_EVERY_SECONDS = 0.5
MAX_PROBES = 8  # attempts in flight at once, each bounded by the connect timeout
WATCH_EVERY_SECONDS = 0.1

_local = threading.local()
_lock = threading.Lock()
_tokens = itertools.count()
_waiting: dict[int, tuple[float, int, Any]] = {}  # token -> (deadline, socket fd, wrapper)
_watcher: threading.Thread | None = None
_open: set[str] = set()  # aliases whose database is treated as down
_probing: set[str] = set()


# The request's time limit.


@contextlib.contextmanager
def limited() -> Iterator[None]:
    """Statements in this block (a web request) are cut after CIS_DB_QUERY_TIMEOUT_SECONDS."""
    previous = getattr(_local, "limit", None)
    _local.limit = float(settings.CIS_DB_QUERY_TIMEOUT_SECONDS)
    try:
        yield
    finally:
        _local.limit = previous


def time_limit(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """An execute wrapper: under limited(), the statement is watched; otherwise untouched."""
    limit: float | None = getattr(_local, "limit", None)
    if limit is None:
        return execute(sql, params, many, context)
    wrapper = context["connection"]
    fd = _socket_of(wrapper)
    if fd is None:
        return execute(sql, params, many, context)
    token = next(_tokens)
    with _lock:
        _waiting[token] = (time.monotonic() + limit, fd, wrapper)
        _ensure_watcher()
    try:
        return execute(sql, params, many, context)
    finally:
        with _lock:
            _waiting.pop(token, None)


def _socket_of(wrapper: Any) -> int | None:
    raw = getattr(wrapper, "connection", None)
    try:
        return int(raw.fileno()) if raw is not None else None
    except Exception:  # noqa: BLE001 - a closed or broken connection: nothing to watch
        return None


def _ensure_watcher() -> None:
    global _watcher  # noqa: PLW0603 - one watchdog thread per process
    if _watcher is None or not _watcher.is_alive():
        _watcher = threading.Thread(target=_watch, name="cis-db-watchdog", daemon=True)
        _watcher.start()


def _watch() -> None:
    while True:
        time.sleep(WATCH_EVERY_SECONDS)
        now = time.monotonic()
        with _lock:
            # Cut under the lock: the statement's thread cannot finish and free the fd meanwhile.
            for token, (deadline, fd, wrapper) in list(_waiting.items()):
                if now >= deadline:
                    del _waiting[token]
                    _cut(fd)
                    logger.warning("database %s: a statement passed its time limit", wrapper.alias)
                    _trip_locked(wrapper)


def _cut(fd: int) -> None:
    with contextlib.suppress(OSError):
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)


# The breaker.


def is_down(alias: str = "default") -> bool:
    return alias in _open


def trip(wrapper: Any) -> None:
    """This connection's database failed to connect or answer: probe it before using it again."""
    with _lock:
        _trip_locked(wrapper)


def _trip_locked(wrapper: Any) -> None:
    alias = wrapper.alias
    if alias not in _open:
        # Only the primary's loss is a 503; a lost replica's reads go to the primary instead.
        instead = "answering 503" if alias == "default" else "reading from the primary"
        logger.warning("database %s unavailable: %s until it answers again", alias, instead)
    _open.add(alias)
    if alias not in _probing:
        _probing.add(alias)
        threading.Thread(
            target=_probe, args=(type(wrapper), dict(wrapper.settings_dict), alias), daemon=True
        ).start()


def _probe(backend: type[Any], settings_dict: dict[str, Any], alias: str) -> None:
    """Every half second a fresh attempt, without waiting for slower ones: the first wins."""
    attempts: list[threading.Thread] = []
    while True:
        with _lock:
            # Decided under the lock, so that a trip at this moment finds a probe or starts one.
            if alias not in _open:
                _probing.discard(alias)
                return
        attempts = [a for a in attempts if a.is_alive()]
        if len(attempts) < MAX_PROBES:
            attempt = threading.Thread(
                target=_attempt, args=(backend, settings_dict, alias), daemon=True
            )
            attempt.start()
            attempts.append(attempt)
        time.sleep(PROBE_EVERY_SECONDS)


def _attempt(backend: type[Any], settings_dict: dict[str, Any], alias: str) -> None:
    if _answers(backend(settings_dict, alias)):
        with _lock:
            if alias in _open:
                logger.warning("database %s answers again", alias)
            _open.discard(alias)


def _answers(probe: Any) -> bool:
    """A fresh connection (same backend, same settings) and SELECT 1, under the time limit."""
    _local.limit = float(settings.CIS_DB_QUERY_TIMEOUT_SECONDS)  # this thread's own limit
    try:
        with probe.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means "still down"
        return False
    finally:
        with contextlib.suppress(Exception):
            probe.close()


def reset() -> None:
    """Forget every trip (tests)."""
    with _lock:
        _open.clear()
