"""Checking the audit trail: every chain against the audit keys, and against the checkpoints.

Each chain is walked from its first event: numbers without a gap, each event linked to the one
before, each seal made with an audit key over the event's own contents, the head naming the
last event. Then the checkpoints (the sink's, and the signed copies in the database) say how far
each chain had reached and with which seal: a chain that is shorter, or whose event there has
another seal, was cut or rewritten. The first problem found is named, with why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cis.core.errors import InvalidState

from . import checkpoints, keys
from .chain import GENESIS, SEALED_FIELDS, event_seal
from .checkpoints import Checkpoint
from .models import AuditCheckpoint, AuditEvent, AuditHead


@dataclass(frozen=True)
class Problem:
    reason: str
    chain: int | None = None
    seq: int | None = None
    event_id: int | None = None
    checkpoint: int | None = None

    @property
    def where(self) -> str:
        """'event #3', 'event #3 of chain 2', or 'checkpoint #7'."""
        if self.seq is None:
            return f"checkpoint #{self.checkpoint}"
        return f"event #{self.seq}" + (
            f" of chain {self.chain}" if self.chain not in (1, None) else ""
        )


@dataclass
class Result:
    events: int = 0
    chains: int = 0
    checkpoints: int = 0
    latest: Checkpoint | None = None
    problem: Problem | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.problem is None

    @property
    def uncovered(self) -> int:
        """Events written after the latest checkpoint (not yet anchored outside the database)."""
        return max(0, self.events - (self.latest.events if self.latest else 0))


def _when(checkpoint: Checkpoint) -> str:
    return checkpoint.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _check_sink(
    found: list[Checkpoint], odd: list[tuple[int, str]], path: Path, result: Result
) -> list[Checkpoint]:
    """The sink's checkpoints, each signed, numbered on from the one before and linked to it."""
    for line_number, text in odd:
        try:
            json.loads(text)
        except ValueError:
            # Not even JSON: a write cut off by a crash. Were it a checkpoint, the numbering
            # or the database's copy would show it missing.
            result.notes.append(
                f"line {line_number} of {path} is incomplete (a write cut off by a crash); "
                "it was skipped"
            )
            continue
        result.problem = Problem(
            f"line {line_number} of {path} is not a checkpoint: the file was edited"
        )
        return []
    previous: dict[str, Checkpoint] = {}
    for checkpoint in found:
        if not keys.checkpoint_signature_valid(checkpoint.signed_bytes(), checkpoint.signature):
            result.problem = Problem(
                f"checkpoint #{checkpoint.number} in {path} does not match its signature: it "
                "was edited, or not written by CIS",
                checkpoint=checkpoint.number,
            )
            return []
        before = previous.get(checkpoint.node)
        want = before.number + 1 if before else 1
        if checkpoint.number != want:
            missing = (
                f"#{want}"
                if checkpoint.number == want + 1
                else f"#{want} to #{checkpoint.number - 1}"
            )
            result.problem = Problem(
                f"checkpoint {missing} is missing from {path}: the file jumps from "
                f"#{want - 1} to #{checkpoint.number}",
                checkpoint=want,
            )
            return []
        link = hashlib.sha256(before.line.encode()).hexdigest() if before else GENESIS
        if checkpoint.prev != link:
            result.problem = Problem(
                f"checkpoint #{checkpoint.number} in {path} does not follow checkpoint "
                f"#{want - 1}: a checkpoint was replaced",
                checkpoint=checkpoint.number,
            )
            return []
        previous[checkpoint.node] = checkpoint
    return found


def _check_database_copies(sink: list[Checkpoint], path: Path, result: Result) -> list[Checkpoint]:
    """The copies in the database: each signed; this node's must all be in the sink."""
    node = checkpoints.node_id()
    in_sink = {(c.node, c.number): c for c in sink}
    copies: list[Checkpoint] = []
    for row in AuditCheckpoint.objects.order_by("node", "number").iterator():
        try:
            copy = checkpoints.parse(row.line)
        except checkpoints.NotACheckpoint:
            result.problem = Problem(
                f"the database's copy of checkpoint #{row.number} is not a checkpoint: it was "
                "edited",
                checkpoint=row.number,
            )
            return []
        if not keys.checkpoint_signature_valid(copy.signed_bytes(), copy.signature):
            result.problem = Problem(
                f"the database's copy of checkpoint #{row.number} does not match its "
                "signature: it was edited",
                checkpoint=row.number,
            )
            return []
        if copy.node == node and (copy.node, copy.number) not in in_sink:
            result.problem = Problem(
                f"checkpoint #{copy.number} (written {_when(copy)}) is missing from {path}: "
                "the file was cut, replaced or deleted",
                checkpoint=copy.number,
            )
            return []
        copies.append(copy)
    return copies


_COLUMNS = ("id", "prev_hash", "hash", *SEALED_FIELDS)


def _events(chain: int) -> Iterator[dict[str, Any]]:
    rows = (
        AuditEvent.objects.filter(chain=chain)
        .order_by("seq")
        .values_list(*_COLUMNS)
        .iterator(chunk_size=5000)
    )
    for row in rows:
        yield dict(zip(_COLUMNS, row, strict=True))


def _normalise(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _check_chain(
    chain: int,
    head: tuple[int, str] | None,
    anchors: dict[int, tuple[str, Checkpoint]],
    result: Result,
) -> None:
    prev, expected_seq = GENESIS, 1
    for event in _events(chain):
        seq = event["seq"]
        if seq != expected_seq:
            gap = (
                f"#{expected_seq}" if seq == expected_seq + 1 else f"#{expected_seq} to #{seq - 1}"
            )
            result.problem = Problem(
                f"the chain goes from #{expected_seq - 1} to #{seq}: event {gap} was deleted "
                "(or the events renumbered)",
                chain,
                expected_seq,
                event["id"],
            )
            return
        if event["prev_hash"] != prev:
            result.problem = Problem(
                "it does not link to the event before it: events were deleted, inserted or moved",
                chain,
                seq,
                event["id"],
            )
            return
        fields = dict(event)
        fields["at"] = _normalise(event["at"])
        try:
            seal = event_seal(prev, fields)
        except InvalidState as exc:
            result.problem = Problem(f"its seal cannot be checked: {exc}", chain, seq, event["id"])
            return
        if seal != event["hash"]:
            result.problem = Problem(
                "its seal does not match its contents: it was edited, or written without the "
                "audit key",
                chain,
                seq,
                event["id"],
            )
            return
        anchor = anchors.get(seq)
        if anchor is not None and anchor[0] != event["hash"]:
            result.problem = Problem(
                f"it is not the event checkpoint #{anchor[1].number} (written "
                f"{_when(anchor[1])}) recorded: the chain was rewritten",
                chain,
                seq,
                event["id"],
                anchor[1].number,
            )
            return
        prev = event["hash"]
        expected_seq += 1
        result.events += 1
    last = expected_seq - 1
    if anchors:
        reached = max(anchors)
        if reached > last:
            checkpoint = anchors[reached][1]
            result.problem = Problem(
                f"the chain ends at #{last} but checkpoint #{checkpoint.number} (written "
                f"{_when(checkpoint)}) recorded #{reached}: events #{last + 1} to #{reached} "
                "were deleted",
                chain,
                last + 1,
                None,
                checkpoint.number,
            )
            return
    if head is not None and (head[0] != last or (last and head[1] != prev)):
        result.problem = Problem(
            f"the chain ends at #{last} but its head records #{head[0]}: the latest events "
            "were deleted",
            chain,
            last + 1,
            None,
        )


def verify(sink: Path | None = None) -> Result:
    """Check every chain against the audit keys and every checkpoint; the first problem found."""
    result = Result()
    path = sink or checkpoints.sink_path()
    found, odd = checkpoints.read_sink(path)
    in_sink = _check_sink(found, odd, path, result)
    if result.problem is not None:
        return result
    copies = _check_database_copies(in_sink, path, result)
    if result.problem is not None:
        return result
    every = {(c.node, c.number): c for c in [*copies, *in_sink]}
    result.checkpoints = len(every)
    result.latest = max(every.values(), key=lambda c: c.at, default=None)
    anchors: dict[int, dict[int, tuple[str, Checkpoint]]] = defaultdict(dict)
    for checkpoint in every.values():
        for chain, (seq, seal) in checkpoint.chains.items():
            known = anchors[chain].get(seq)
            if known is not None and known[0] != seal:
                result.problem = Problem(
                    f"checkpoints #{known[1].number} and #{checkpoint.number} record different "
                    f"events #{seq} of chain {chain}: the chain was rewritten between them",
                    chain,
                    seq,
                    None,
                    checkpoint.number,
                )
                return result
            anchors[chain][seq] = (seal, checkpoint)
    heads = {h: (s, x) for h, s, x in AuditHead.objects.values_list("id", "seq", "hash")}
    chains = sorted(
        set(heads)
        | set(anchors)
        | set(AuditEvent.objects.order_by().values_list("chain", flat=True).distinct())
    )
    for chain in chains:
        _check_chain(chain, heads.get(chain), anchors.get(chain, {}), result)
        if result.problem is not None:
            return result
    result.chains = len(chains)
    return result
