"""Who is asking and from where, carried through a request so the audit trail can record it."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RequestContext:
    client_address: str = ""
    correlation_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    channel: str = "internal"


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "cis_request_context", default=None
)


def current() -> RequestContext:
    return _current.get() or RequestContext(channel="internal")


def bind(ctx: RequestContext) -> contextvars.Token[RequestContext | None]:
    return _current.set(ctx)


def unbind(token: contextvars.Token[RequestContext | None]) -> None:
    _current.reset(token)
