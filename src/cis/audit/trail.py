"""Recording audit events inside the caller's transaction, and verifying the chain."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from django.conf import settings
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


# The columns an event is stored in: the hashed fields, its chain and its links.
_EVENT_FIELDS = ("chain", *HASHED_FIELDS, "prev_hash", "hash")


@dataclass(frozen=True)
class _Statements:
    """Plain SQL, as cis.core.sql explains, for the three statements every change makes."""

    take_free: str  # lock the first head no other transaction holds (PostgreSQL)
    take: str  # lock (or on SQLite, just read) one head, waiting for it if need be
    append: str
    move: str
    parallel: bool


@cache
def _statements() -> _Statements:
    head = sql.table(AuditHead)
    features = sql.connection().features
    lock = " FOR UPDATE" if features.has_select_for_update else ""
    return _Statements(
        take_free=(
            f'SELECT "id", "seq", "hash" FROM {head} WHERE "id" <= %s'  # noqa: S608
            ' ORDER BY "id" LIMIT 1 FOR UPDATE SKIP LOCKED'
        ),
        take=f'SELECT "id", "seq", "hash" FROM {head} WHERE "id" = %s{lock}',  # noqa: S608
        append=sql.insert_sql(AuditEvent, _EVENT_FIELDS),
        move=f'UPDATE {head} SET "seq" = %s, "hash" = %s WHERE "id" = %s',  # noqa: S608
        parallel=bool(features.has_select_for_update_skip_locked),
    )


def _chains() -> int:
    return max(1, int(settings.CIS_AUDIT_CHAINS))


def _make_heads(chains: int) -> None:
    AuditHead.objects.bulk_create(
        [AuditHead(id=chain) for chain in range(1, chains + 1)], ignore_conflicts=True
    )


def _take_head() -> tuple[int, int, str]:
    """Lock a chain's head for this transaction: (chain, last seq, last hash).

    On PostgreSQL, the first chain nobody else holds, so that concurrent changes do not wait for
    one another's commit; only when every chain is busy does a writer queue, on one at random.
    SQLite lets one transaction write at a time (BEGIN IMMEDIATE), so there one chain serves.
    """
    statements = _statements()
    chains = _chains() if statements.parallel else 1
    chain = 1
    if chains > 1:
        row = sql.one(statements.take_free, [chains])
        if row is not None:
            return int(row[0]), int(row[1]), str(row[2])
        _make_heads(chains)  # the first time past chain 1 (or every chain is busy)
        chain = random.randint(1, chains)  # noqa: S311 - spreading load, not a secret
    row = sql.one(statements.take, [chain])
    if row is None:  # a database emptied by hand (or by a test): the head comes back
        _make_heads(chains)
        row = sql.one(statements.take, [chain])
        assert row is not None  # noqa: S101 - just made
    return int(row[0]), int(row[1]), str(row[2])


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
    """Append one event and return its number in its chain.

    Must run inside the transaction that makes the change it describes. The writer holds its
    chain's head row (on SQLite, the write lock that BEGIN IMMEDIATE takes) until that
    transaction ends, so each chain's events follow strictly one after another.
    """
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("audit.record must be called inside the change's transaction")
    chain, prev_seq, prev_hash = _take_head()
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
        "chain": chain,
        "at": sql.when(at),
        "before": sql.prep(AuditEvent, "before", fields["before"]),
        "after": sql.prep(AuditEvent, "after", fields["after"]),
        "prev_hash": prev_hash,
        "hash": digest,
    }
    statements = _statements()
    sql.execute(statements.append, [stored[name] for name in _EVENT_FIELDS])
    sql.execute(statements.move, [fields["seq"], digest, chain])
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
    chain: int = 1

    @property
    def where(self) -> str:
        """'event #3', or 'event #3 of chain 2' where there are several chains."""
        return f"event #{self.seq}" + (f" of chain {self.chain}" if self.chain != 1 else "")


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


def _events(chain: int) -> Iterator[AuditEvent]:
    return AuditEvent.objects.filter(chain=chain).order_by("id").iterator(chunk_size=2000)


def _verify_chain(chain: int, head: AuditHead | None) -> tuple[int, ChainBreak | None]:
    prev = GENESIS
    expected_seq = 1
    count = 0
    for event in _events(chain):
        if event.seq != expected_seq:
            reason = (
                f"expected event #{expected_seq} but found #{event.seq}: "
                "an event was deleted or the events were reordered"
            )
            return count, ChainBreak(expected_seq, event.id, reason, chain)
        if event.prev_hash != prev:
            return count, ChainBreak(
                event.seq, event.id, "its link to the previous event does not match", chain
            )
        if event_hash(prev, _stored_fields(event)) != event.hash:
            return count, ChainBreak(event.seq, event.id, "its contents were edited", chain)
        prev = event.hash
        expected_seq += 1
        count += 1
    if head is not None and (head.seq != count or head.hash != prev):
        return count, ChainBreak(
            count + 1,
            None,
            f"the chain ends at #{count} but #{head.seq} was written: "
            "the latest events were deleted",
            chain,
        )
    return count, None


def verify() -> tuple[int, ChainBreak | None]:
    """Walk each chain in insertion order; return how many events checked and the first break.

    Each chain is checked from its first event to its head: numbers without a gap, each event
    linked to the one before, each event's hash over its own contents, and the head naming the
    last event written, so that cutting off the latest events shows too.
    """
    heads = {head.id: head for head in AuditHead.objects.all()}
    chains = sorted(
        set(heads) | set(AuditEvent.objects.order_by().values_list("chain", flat=True).distinct())
    )
    count = 0
    for chain in chains:
        checked, broken = _verify_chain(chain, heads.get(chain))
        count += checked
        if broken is not None:
            return count, broken
    return count, None
