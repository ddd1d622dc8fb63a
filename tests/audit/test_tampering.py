"""100 tamperings of each kind with a copy of the trail, as someone with the database would make
them, every one caught and named: its first bad event (chain and number) or the checkpoint that
shows events missing.

The kinds: edit a field, delete events, reorder them, cut off a chain's tail and move its head
back, append a forged event sealed with the public recipe, edit an event and recompute every
seal after it (or delete one and renumber), and delete everything. On PostgreSQL the trail is
written by concurrent writers, so it has parallel chains; the tamperer gets round the append-only
trigger as the database's superuser could. The checkpoint sink is left alone (it is outside the
database).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.db import connection, connections, transaction

from cis.audit import checkpoints
from cis.audit.chain import SEALED_FIELDS, sealed_body
from cis.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from cis.audit.trail import record
from cis.audit.verify import Problem, verify
from cis.authz.policy import CONSOLE

from .tamper import as_database_owner

ROUNDS = 100
FIELDS = [f for f in SEALED_FIELDS if f not in ("chain", "seq")]


@dataclass(frozen=True)
class Expect:
    chain: int
    seq: int
    words: str  # what the reason must say


class Undo(Exception):
    """Raised to roll a tampering back."""


def _write(n: int, *, hold: float = 0.0) -> None:
    with transaction.atomic():
        record(
            actor=CONSOLE,
            rule="in-scope:ra_manager:grant#7",
            action=random.choice(["person.create", "right.grant", "card.unlock_assisted"]),
            target_type="person",
            target_ref=f"{100000000000 + n}",
            organisation_ref="FLM49",
            before={"status": "restricted", "n": n},
            after={"status": "active", "when": dt.date(2026, 1, 1 + n % 28), "list": [1, 2]},
            request_ref=f"REQ-{n:06d}",
        )
        time.sleep(hold)


def _build_trail() -> None:
    """About 60 events (in several chains on PostgreSQL), then a checkpoint of them all."""
    if connection.vendor == "postgresql":
        writers, each = 4, 15
        barrier = threading.Barrier(writers)

        def write(index: int) -> None:
            try:
                barrier.wait(timeout=10)
                for n in range(each):
                    _write(index * 100 + n, hold=0.02)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    else:
        for n in range(60):
            _write(n)
    checkpoints.write()
    result = verify()
    assert result.intact and result.events == AuditEvent.objects.count() >= 60
    if connection.vendor == "postgresql":
        assert AuditEvent.objects.values("chain").distinct().count() > 1


def _chains() -> dict[int, list[AuditEvent]]:
    chains: dict[int, list[AuditEvent]] = {}
    for event in AuditEvent.objects.order_by("chain", "seq"):
        chains.setdefault(event.chain, []).append(event)
    return chains


def _public_hash(prev: str, event: AuditEvent, recipe: int) -> str:
    """What someone without the key can compute: the documented body under SHA-256, the old
    recipe, or HMAC with a key they made up."""
    fields = {name: getattr(event, name) for name in SEALED_FIELDS}
    fields["at"] = event.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if recipe == 0:
        return hashlib.sha256(sealed_body(prev, fields)).hexdigest()
    if recipe == 1:
        body = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(f"{prev}|{body}".encode()).hexdigest()
    import hmac

    return hmac.new(b"guessed key", sealed_body(prev, fields), hashlib.sha256).hexdigest()


def _save(event: AuditEvent) -> None:
    values = {f.attname: getattr(event, f.attname) for f in AuditEvent._meta.concrete_fields}
    pk = values.pop("id")
    AuditEvent.objects.filter(pk=pk).update(**values)


def _move_head(chain: int, events: list[AuditEvent]) -> None:
    last = events[-1] if events else None
    AuditHead.objects.filter(id=chain).update(
        seq=last.seq if last else 0, hash=last.hash if last else "0" * 64
    )


def _edited(value: object, rng: random.Random) -> object:
    if isinstance(value, dict):
        return {**value, "status": rng.choice(["closed", "revoked", "x"])}
    if isinstance(value, dt.datetime):
        return value - dt.timedelta(seconds=rng.randint(1, 10**6))
    if isinstance(value, int):
        return value + rng.randint(1, 5)
    return f"{value}{rng.choice(['x', '0', ' '])}"


# The tamperings: each changes the copy and says what verify() must name. -------------------


def edit(rng: random.Random) -> Expect:
    chains = _chains()
    chain = rng.choice(sorted(chains))
    event = rng.choice(chains[chain])
    name = rng.choice(FIELDS)
    setattr(event, name, _edited(getattr(event, name), rng))
    _save(event)
    return Expect(chain, event.seq, "seal" if name != "key_id" else "")


def delete(rng: random.Random) -> Expect:
    chains = _chains()
    chain = rng.choice(sorted(chains))
    events = chains[chain]
    start = rng.randrange(len(events))
    count = rng.randint(1, 3)
    gone = events[start : start + count]
    AuditEvent.objects.filter(pk__in=[e.pk for e in gone]).delete()
    return Expect(chain, gone[0].seq, "deleted")


def reorder(rng: random.Random) -> Expect:
    chains = _chains()
    chain = rng.choice([c for c in sorted(chains) if len(chains[c]) > 1])
    events = chains[chain]
    a, b = sorted(rng.sample(range(len(events)), 2))
    first, second = events[a], events[b]
    if rng.random() < 0.5:  # swap their numbers (through a spare one: (chain, seq) is unique)
        AuditEvent.objects.filter(pk=first.pk).update(seq=-1)
        AuditEvent.objects.filter(pk=second.pk).update(seq=first.seq)
        AuditEvent.objects.filter(pk=first.pk).update(seq=second.seq)
    else:  # swap their contents, each row keeping its place and links
        for name in FIELDS:
            x, y = getattr(first, name), getattr(second, name)
            setattr(first, name, y)
            setattr(second, name, x)
        _save(first)
        _save(second)
    return Expect(chain, first.seq, "")


def truncate(rng: random.Random) -> Expect:
    chains = _chains()
    chain = rng.choice(sorted(chains))
    events = chains[chain]
    keep = rng.randrange(len(events))
    cut = events[keep:]
    AuditEvent.objects.filter(pk__in=[e.pk for e in cut]).delete()
    _move_head(chain, events[:keep])
    return Expect(chain, cut[0].seq, "checkpoint")


def forge(rng: random.Random) -> Expect:
    chains = _chains()
    chain = rng.choice(sorted(chains))
    last = chains[chain][-1]
    forged = AuditEvent(**{f.attname: getattr(last, f.attname) for f in AuditEvent._meta.fields})
    forged.pk = None
    forged.seq = last.seq + 1
    forged.action = "right.grant"
    forged.after = {"right": "ra_manager", "person": "100000000666"}
    forged.at = last.at + dt.timedelta(seconds=1)
    forged.prev_hash = last.hash
    forged.hash = _public_hash(last.hash, forged, rng.randrange(3))
    forged.save()
    _move_head(chain, [*chains[chain], forged])
    return Expect(chain, forged.seq, "without the audit key")


def recompute(rng: random.Random) -> Expect:
    chains = _chains()
    chain = rng.choice(sorted(chains))
    events = chains[chain]
    start = rng.randrange(len(events))
    recipe = rng.randrange(3)
    if rng.random() < 0.5:  # edit one event and re-hash it and everything after it
        events[start].target_ref = "100000000666"
        rest = events[start:]
        first_bad = events[start].seq
    else:  # delete one event and renumber everything after it
        AuditEvent.objects.filter(pk=events[start].pk).delete()
        rest = events[start + 1 :]
        for event in rest:
            event.seq -= 1
        first_bad = events[start].seq
    prev = events[start - 1].hash if start else "0" * 64
    for event in sorted(rest, key=lambda e: e.seq):
        event.prev_hash = prev
        event.hash = _public_hash(prev, event, recipe)
        prev = event.hash
    for event in rest:  # seq stays unique when renumbering downwards in order
        _save(event)
    _move_head(chain, [e for e in events if e.pk is not None and e in rest] or events[:start])
    return Expect(chain, first_bad, "")


def delete_everything(rng: random.Random) -> Expect:
    chains = _chains()
    if rng.random() < 0.5:
        AuditEvent.objects.all().delete()
        AuditHead.objects.all().delete()
        if rng.random() < 0.5:
            AuditCheckpoint.objects.all().delete()
        chain = min(chains)
    else:  # one chain's events and head
        chain = rng.choice(sorted(chains))
        AuditEvent.objects.filter(chain=chain).delete()
        AuditHead.objects.filter(id=chain).delete()
        if chain != min(chains):
            pass
    return Expect(chain, 1, "were deleted")


KINDS: dict[str, Callable[[random.Random], Expect]] = {
    "edit": edit,
    "delete": delete,
    "reorder": reorder,
    "truncate": truncate,
    "forge": forge,
    "recompute": recompute,
    "delete_everything": delete_everything,
}


def _tamper_and_verify(kind: str, seed: int) -> tuple[Expect, Problem | None]:
    rng = random.Random(f"{kind}-{seed}")
    found: list[tuple[Expect, Problem | None]] = []
    with pytest.raises(Undo), transaction.atomic():
        with as_database_owner():
            expect = KINDS[kind](rng)
        found.append((expect, verify().problem))
        raise Undo
    return found[0]


@pytest.fixture
def trail(transactional_db: None) -> Iterator[None]:
    _build_trail()
    yield


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_tampering_is_caught_and_named(trail: None, kind: str) -> None:
    missed, misnamed = [], []
    for seed in range(ROUNDS):
        expect, problem = _tamper_and_verify(kind, seed)
        if problem is None:
            missed.append(seed)
            continue
        named = (problem.chain, problem.seq) == (expect.chain, expect.seq)
        if not named or expect.words not in problem.reason:
            misnamed.append(f"{seed}: expected {expect}, got {problem}")
    assert verify().intact, "every tampering was rolled back"
    assert not missed, f"{len(missed)} of {ROUNDS} {kind} tamperings went unseen: {missed}"
    assert not misnamed, "\n".join(misnamed)
