"""Recording audit events inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
import time
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction

from cis.authz.actions import Action
from cis.core import clock, context, sql

from . import checkpoints, keys
from .chain import SEALED_FIELDS, event_seal
from .models import AuditEvent, AuditHead

logger = logging.getLogger(__name__)


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


# The columns an event is stored in: the sealed fields and its links.
_EVENT_FIELDS = (*SEALED_FIELDS, "prev_hash", "hash")
_USER_ID = re.compile(r"^[0-9]{12}$")
# Where an event's snapshot names the person it is about, when its target is something of theirs.
_SUBJECT_KEYS = ("holder", "person", "subject", "user_id")


def subject_of(target_type: str, target_ref: str, *snapshots: dict[str, Any]) -> str:
    """The user id of the person an event is about: the target itself, or the holder, person or
    subject its snapshots name (a card's holder, a right's grantee, a request's subject)."""
    if target_type == "person":
        return str(target_ref)
    for snapshot in snapshots:
        for key in _SUBJECT_KEYS:
            value = snapshot.get(key)
            if isinstance(value, str) and _USER_ID.fullmatch(value):
                return value
    return ""


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
        if row is None:  # the first time past chain 1, or a table emptied: make the heads
            _make_heads(chains)
            row = sql.one(statements.take_free, [chains])
        if row is not None:
            return int(row[0]), int(row[1]), str(row[2])
        chain = random.randint(1, chains)  # every chain is busy  # noqa: S311 - spreading load, not a secret
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
    action: Action,
    target_type: str,
    target_ref: str,
    organisation_ref: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request_ref: str = "",
    subject_ref: str = "",
) -> int:
    """Append one event and return its number in its chain.

    Must run inside the transaction that makes the change it describes. The writer holds its
    chain's head row (on SQLite, the write lock that BEGIN IMMEDIATE takes) until that
    transaction ends, so each chain's events follow strictly one after another. Every
    CIS_AUDIT_CHECKPOINT_EVERY events of a chain, and when this process has not written a
    checkpoint for CIS_AUDIT_CHECKPOINT_SECONDS, a checkpoint follows the commit.
    """
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("audit.record must be called inside the change's transaction")
    chain, prev_seq, prev_hash = _take_head()
    ctx = context.current()
    actor_ref, actor_name = _actor_fields(actor)
    at = clock.now()
    before = _jsonable(before or {})
    after = _jsonable(after or {})
    fields: dict[str, Any] = {
        "chain": chain,
        "seq": prev_seq + 1,
        "key_id": keys.current_key_id(),
        "at": _normalise(at),
        "actor_ref": actor_ref,
        "actor_name": actor_name,
        "rule": rule,
        "action": action,
        "target_type": target_type,
        "target_ref": str(target_ref),
        "subject_ref": subject_ref or subject_of(target_type, str(target_ref), after, before),
        "organisation_ref": organisation_ref or "",
        "before": before,
        "after": after,
        "request_ref": request_ref or "",
        "client_address": ctx.client_address,
        "channel": ctx.channel,
        "correlation_id": ctx.correlation_id,
    }
    digest = event_seal(prev_hash, fields)
    stored = {
        **fields,
        "at": sql.when(at),
        "before": sql.prep(AuditEvent, "before", fields["before"]),
        "after": sql.prep(AuditEvent, "after", fields["after"]),
        "prev_hash": prev_hash,
        "hash": digest,
    }
    statements = _statements()
    sql.execute(statements.append, [stored[name] for name in _EVENT_FIELDS])
    sql.execute(statements.move, [fields["seq"], digest, chain])
    if _checkpoint_due(int(fields["seq"])):
        transaction.on_commit(checkpoints.write_after_commit)
    if logger.isEnabledFor(logging.INFO):
        transaction.on_commit(lambda: _log_event(fields))
    return int(fields["seq"])


def _log_event(fields: dict[str, Any]) -> None:
    """One log line per committed change: what, to what, by whom, under which rule; never the
    before and after (personal data), which stay in the trail."""
    logger.info(
        "%s %s:%s by %s (%s)",
        fields["action"],
        fields["target_type"],
        fields["target_ref"],
        fields["actor_ref"],
        fields["rule"],
        extra={"audit_chain": fields["chain"], "audit_seq": fields["seq"]},
    )


def record_many(*, actor: Any, rule: str, events: list[dict[str, Any]]) -> int:
    """Append many events by one actor under one rule (a bulk import), as record() would one by
    one: the same fields, seals and chain, but with the chain's head taken once and the rows
    inserted in batches. Each event gives target_type, target_ref and optionally
    organisation_ref, before, after, request_ref and subject_ref, `actor` where someone
    other than the caller's actor made that change (a history loaded at once), and `rule`
    where the policy allowed that change under another rule than `rule` (a bulk revocation
    decided certificate by certificate). Returns how many it wrote.
    """
    if not events:
        return 0
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("audit.record_many must be called inside the change's transaction")
    chain, seq, prev_hash = _take_head()
    ctx = context.current()
    actor_fields = _actor_fields(actor)
    key_id = keys.current_key_id()
    statements = _statements()
    rows: list[list[Any]] = []
    checkpoint = False
    every = int(settings.CIS_AUDIT_CHECKPOINT_EVERY)
    for event in events:
        seq += 1
        at = clock.now()
        before = _jsonable(event.get("before") or {})
        after = _jsonable(event.get("after") or {})
        target_type, target_ref = event["target_type"], str(event["target_ref"])
        actor_ref, actor_name = _actor_fields(event["actor"]) if "actor" in event else actor_fields
        fields: dict[str, Any] = {
            "chain": chain,
            "seq": seq,
            "key_id": key_id,
            "at": _normalise(at),
            "actor_ref": actor_ref,
            "actor_name": actor_name,
            "rule": event.get("rule") or rule,
            "action": str(Action(event["action"])),  # an unknown action fails here, not later
            "target_type": target_type,
            "target_ref": target_ref,
            "subject_ref": event.get("subject_ref")
            or subject_of(target_type, target_ref, after, before),
            "organisation_ref": event.get("organisation_ref") or "",
            "before": before,
            "after": after,
            "request_ref": event.get("request_ref") or "",
            "client_address": ctx.client_address,
            "channel": ctx.channel,
            "correlation_id": ctx.correlation_id,
        }
        digest = event_seal(prev_hash, fields)
        stored = {
            **fields,
            "at": sql.when(at),
            "before": sql.prep(AuditEvent, "before", before),
            "after": sql.prep(AuditEvent, "after", after),
            "prev_hash": prev_hash,
            "hash": digest,
        }
        rows.append([stored[name] for name in _EVENT_FIELDS])
        prev_hash = digest
        checkpoint = checkpoint or bool(every and seq % every == 0)
    sql.copy_rows(AuditEvent, _EVENT_FIELDS, rows)
    sql.execute(statements.move, [seq, prev_hash, chain])
    if checkpoint or _checkpoint_due(seq):
        transaction.on_commit(checkpoints.write_after_commit)
    count, last = len(rows), seq
    transaction.on_commit(
        lambda: logger.info(
            "%d events by %s (%s), up to %d of chain %d", count, actor_ref, rule, last, chain
        )
    )
    return len(rows)


_last_checkpoint = time.monotonic()


def _checkpoint_due(seq: int) -> bool:
    """Every CIS_AUDIT_CHECKPOINT_EVERY events of a chain, or when this process has written
    none for CIS_AUDIT_CHECKPOINT_SECONDS (0 turns either off)."""
    global _last_checkpoint  # noqa: PLW0603 - one clock per process
    every = int(settings.CIS_AUDIT_CHECKPOINT_EVERY)
    seconds = int(settings.CIS_AUDIT_CHECKPOINT_SECONDS)
    now = time.monotonic()
    if (every and seq % every == 0) or (seconds and now - _last_checkpoint >= seconds):
        _last_checkpoint = now
        return True
    return False


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
