"""Who is asking and from where, carried through a request so the audit trail can record it."""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestContext:
    client_address: str = ""
    correlation_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    channel: str = "internal"
    # Work that waits until the answer has gone (cis.core.middleware runs it): recording a
    # refusal must not make a refused request slower than one for something absent.
    after_response: list[Callable[[], None]] = field(
        default_factory=list, compare=False, repr=False
    )
    # A request that changes nothing (GET, HEAD, OPTIONS) may keep what it has read for the rest
    # of itself: cis.authz reads the actor's grants once, not once per scoped list on the page.
    # A request that writes keeps nothing, so a check after a change always sees the change.
    read_only: bool = False
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "cis_request_context", default=None
)


def current() -> RequestContext:
    return _current.get() or RequestContext(channel="internal")


def bound() -> RequestContext | None:
    """The request being answered, or None outside one (a command, a job, a test's call)."""
    return _current.get()


def bind(ctx: RequestContext) -> contextvars.Token[RequestContext | None]:
    return _current.set(ctx)


def unbind(token: contextvars.Token[RequestContext | None]) -> None:
    _current.reset(token)


@contextmanager
def working(ctx: RequestContext) -> Iterator[RequestContext]:
    """Carry `ctx` through a unit of work that is not an HTTP request (a scheduled job), then run
    its deferred work as a request's is run once answered: a refusal inside a job is recorded."""
    token = bind(ctx)
    try:
        yield ctx
    finally:
        unbind(token)
        run_deferred(ctx)


def request_memo() -> dict[Any, Any] | None:
    """The read-only request's own memo, or None (a request that writes, a job, a command)."""
    bound_now = _current.get()
    return bound_now.memo if bound_now is not None and bound_now.read_only else None


def defer(work: Callable[[], None]) -> bool:
    """Run `work` once the request's answer has been sent; False outside a request."""
    bound_now = _current.get()
    if bound_now is None:
        return False
    bound_now.after_response.append(work)
    return True


def run_deferred(ctx: RequestContext) -> None:
    """Run a finished request's deferred work, each piece on its own: one failing stops none."""
    token = bind(ctx)  # the work's log lines and audit events carry the request's ids
    try:
        while ctx.after_response:
            work = ctx.after_response.pop(0)
            try:
                work()
            except Exception:  # noqa: BLE001 - the answer has gone; nothing to tell the client
                logger.exception("work deferred after the response failed")
    finally:
        unbind(token)
