"""Recording audit events inside the caller's transaction, and verifying the chain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from django.db import transaction

from cis.core import clock, context, sql

from .chain import GENESIS, HASHED_FIELDS, event_hash
from .models import AuditEvent, AuditHead


class Actor(Protocol):
    @property
    def audit_ref(self) -> str: ...

    @property
    def audit_name(self) -> str: ...


def _actor_fields(actor: Any) -> tuple[str, str]:
    if actor is None:
        return "system", "CIS"
    ref = getattr(actor, "audit_ref", None) or getattr(actor, "user_id", None) or str(actor)
    name = getattr(actor, "audit_name", None) or getattr(actor, "full_name", "")
    return str(ref), str(name)


def _normalise(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


_EVENT_FIELDS = (*HASHED_FIELDS, "prev_hash", "hash")  # the columns an event is stored in


@cache
def _statements() -> tuple[str, str, str]:
    """Lock and read the head, append the event, move the head: plain SQL, as core.sql says."""
    head = sql.table(AuditHead)
    lock = " FOR UPDATE" if sql.connection().features.has_select_for_update else ""
    return (
        f'SELECT "seq", "hash" FROM {head} WHERE "id" = 1{lock}',  # noqa: S608
        sql.insert_sql(AuditEvent, _EVENT_FIELDS),
        f'UPDATE {head} SET "seq" = %s, "hash" = %s WHERE "id" = 1',  # noqa: S608
    )


def record(
    *,
    actor: Any,
    rule: str,
    action: str,
    target_type: str,
    target_ref: str,
    organisation_ref: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request_ref: str = "",
) -> int:
    """Append one event and return its number in the chain.

    Must run inside the transaction that makes the change it describes. Writers take the head
    row's lock (on SQLite, the write lock that BEGIN IMMEDIATE holds), so events are chained
    strictly one after another.
    """
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("audit.record must be called inside the change's transaction")
    read_head, insert_event, move_head = _statements()
    head = sql.one(read_head)
    if head is None:
        # Migration 0002 creates the head; a database emptied by hand (or by a test) gets it back.
        AuditHead.objects.get_or_create(id=1)
        head = sql.one(read_head)
        assert head is not None  # noqa: S101 - just created
    prev_seq, prev_hash = int(head[0]), str(head[1])
    ctx = context.current()
    actor_ref, actor_name = _actor_fields(actor)
    at = clock.now()
    fields: dict[str, Any] = {
        "seq": prev_seq + 1,
        "at": _normalise(at),
        "actor_ref": actor_ref,
        "actor_name": actor_name,
        "rule": rule,
        "action": action,
        "target_type": target_type,
        "target_ref": str(target_ref),
        "organisation_ref": organisation_ref or "",
        "before": _jsonable(before or {}),
        "after": _jsonable(after or {}),
        "request_ref": request_ref or "",
        "client_address": ctx.client_address,
        "channel": ctx.channel,
        "correlation_id": ctx.correlation_id,
    }
    digest = event_hash(prev_hash, fields)
    stored = {
        **fields,
        "at": sql.when(at),
        "before": sql.prep(AuditEvent, "before", fields["before"]),
        "after": sql.prep(AuditEvent, "after", fields["after"]),
        "prev_hash": prev_hash,
        "hash": digest,
    }
    sql.execute(insert_event, [stored[name] for name in _EVENT_FIELDS])
    sql.execute(move_head, [fields["seq"], digest])
    return int(fields["seq"])


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dt.datetime):
            out[key] = _normalise(value)
        elif isinstance(value, dt.date):
            out[key] = value.isoformat()
        elif isinstance(value, dict):
            out[key] = _jsonable(value)
        elif isinstance(value, list | tuple):
            out[key] = [str(v) if isinstance(v, dt.date) else v for v in value]
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    event_id: int | None
    reason: str


def _stored_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": _normalise(event.at),
        "actor_ref": event.actor_ref,
        "actor_name": event.actor_name,
        "rule": event.rule,
        "action": event.action,
        "target_type": event.target_type,
        "target_ref": event.target_ref,
        "organisation_ref": event.organisation_ref,
        "before": event.before,
        "after": event.after,
        "request_ref": event.request_ref,
        "client_address": event.client_address,
        "channel": event.channel,
        "correlation_id": event.correlation_id,
    }


def _events() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("id").iterator(chunk_size=2000)


def verify() -> tuple[int, ChainBreak | None]:
    """Walk the chain in insertion order; return how many events checked and the first break."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    for event in _events():
        if event.seq != expected_seq:
            reason = (
                f"expected event #{expected_seq} but found #{event.seq}: "
                "an event was deleted or the events were reordered"
            )
            return count, ChainBreak(expected_seq, event.id, reason)
        if event.prev_hash != prev:
            return count, ChainBreak(
                event.seq, event.id, "its link to the previous event does not match"
            )
        if event_hash(prev, _stored_fields(event)) != event.hash:
            return count, ChainBreak(event.seq, event.id, "its contents were edited")
        prev = event.hash
        expected_seq += 1
        count += 1
    head = AuditHead.objects.filter(id=1).first()
    if head is not None and (head.seq != count or head.hash != prev):
        return count, ChainBreak(
            count + 1,
            None,
            f"the chain ends at #{count} but #{head.seq} was written: "
            "the latest events were deleted",
        )
    return count, None
