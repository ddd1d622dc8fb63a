"""Signed checkpoints of every chain's head, appended to a sink outside the database.

A checkpoint records, for each chain, the number and seal of its latest event, with the time, a
number that goes up by one, and the digest of the checkpoint before it; the whole is signed with
the audit checkpoint key. Each is appended (and fsync'd) to `checkpoints.jsonl` in the data
directory, optionally sent to syslog, and copied into the database. `cis audit verify` then
catches what a database alone cannot show: the latest events cut off with their head moved
back, a table emptied, a database replaced by an older copy.

They are written after the commit of every CIS_AUDIT_CHECKPOINT_EVERY-th event of a chain and of
the first event after a process has written none for CIS_AUDIT_CHECKPOINT_SECONDS (so while
anything changes, at least every few minutes), by the `audit-checkpoint` job that `cis jobs run`
runs from its timer, and by `cis audit checkpoint`.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import json
import logging
import logging.handlers
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from cis.core import clock
from cis.core.private_files import secret_file

from . import keys
from .chain import GENESIS
from .models import AuditCheckpoint, AuditHead

log = logging.getLogger(__name__)
VERSION = 1
_SIGNED_PREFIX = b"cis-audit-checkpoint-v1|"
_TAIL_CHUNK = 8192


@dataclass(frozen=True)
class Checkpoint:
    node: str
    number: int
    at: dt.datetime
    chains: dict[int, tuple[int, str]]  # chain -> (latest event's number, its seal)
    prev: str
    signature: bytes
    line: str

    @property
    def events(self) -> int:
        return sum(seq for seq, _seal in self.chains.values())

    def signed_bytes(self) -> bytes:
        return signed_bytes(self.body())

    def body(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "node": self.node,
            "n": self.number,
            "at": self.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "chains": {str(c): [s, h] for c, (s, h) in sorted(self.chains.items())},
            "prev": self.prev,
        }


def signed_bytes(body: dict[str, Any]) -> bytes:
    return _SIGNED_PREFIX + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


class NotACheckpoint(ValueError):
    """A line of the sink that does not parse as a checkpoint."""


def parse(line: str) -> Checkpoint:
    try:
        data = json.loads(line)
        chains = {int(c): (int(v[0]), str(v[1])) for c, v in data["chains"].items()}
        return Checkpoint(
            node=str(data["node"]),
            number=int(data["n"]),
            at=dt.datetime.fromisoformat(data["at"]),
            chains=chains,
            prev=str(data["prev"]),
            signature=base64.b64decode(data["sig"], validate=True),
            line=line,
        )
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise NotACheckpoint(str(exc)) from None


def sink_path() -> Path:
    configured = settings.CIS_AUDIT_CHECKPOINT_FILE
    return (
        Path(configured) if configured else Path(settings.DATA_DIR) / "audit" / "checkpoints.jsonl"
    )


def node_id() -> str:
    """This data directory's name in checkpoints: random, made once."""
    directory = Path(settings.DATA_DIR) / "audit"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return secret_file(directory / "node-id", lambda: secrets.token_hex(6).encode()).decode()


def _last_line(fd: int) -> bytes:
    """The last complete line of the file (newline-terminated), or b"" when there is none."""
    end = os.lseek(fd, 0, os.SEEK_END)
    if end == 0:
        return b""
    buffer = b""
    position = end
    while position > 0:
        step = min(_TAIL_CHUNK, position)
        position -= step
        buffer = os.pread(fd, step, position) + buffer
        # After the final newline is a torn write (a crash mid-line), or nothing; before the
        # first, while the start is not reached, the end of an earlier line.
        complete = buffer.split(b"\n")[:-1]
        if position > 0:
            complete = complete[1:]
        for candidate in reversed(complete):
            if candidate.strip():
                try:
                    parse(candidate.decode())
                except (NotACheckpoint, UnicodeDecodeError):
                    continue
                return candidate
    return b""


def _heads() -> dict[int, tuple[int, str]]:
    return {
        chain: (seq, seal)
        for chain, seq, seal in AuditHead.objects.order_by("id").values_list("id", "seq", "hash")
        if seq > 0
    }


def write() -> Checkpoint:
    """Sign the chains' heads and append the checkpoint to the sink (fsync'd), then send it to
    syslog if configured and copy it into the database."""
    keys.ensure()
    path = sink_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    node = node_id()
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # one writer at a time, across processes
        last = _last_line(fd)
        number, prev = (
            (parse(last.decode()).number + 1, hashlib.sha256(last).hexdigest())
            if last
            else (1, GENESIS)
        )
        end = os.lseek(fd, 0, os.SEEK_END)
        if end and os.pread(fd, 1, end - 1) != b"\n":
            os.write(fd, b"\n")  # end a torn line so that this one stands on its own
        with transaction.atomic():
            heads = _heads()
        body = {
            "v": VERSION,
            "node": node,
            "n": number,
            "at": clock.now().astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "chains": {str(c): [s, h] for c, (s, h) in sorted(heads.items())},
            "prev": prev,
        }
        signature = keys.sign_checkpoint(signed_bytes(body))
        line = json.dumps({**body, "sig": base64.b64encode(signature).decode()}, sort_keys=True)
        os.write(fd, line.encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        _fsync_directory(path.parent)
    checkpoint = parse(line)
    _to_syslog(line)
    try:
        with transaction.atomic():
            AuditCheckpoint.objects.create(node=node, number=number, at=checkpoint.at, line=line)
    except IntegrityError:
        log.warning("audit checkpoint #%s of %s was already in the database", number, node)
    return checkpoint


def write_after_commit() -> None:
    """The checkpoint an event made due, after its commit: a failure is logged, never raised,
    since the change it follows has already been made."""
    try:
        write()
    except Exception:  # noqa: BLE001 - the next checkpoint (job or event) tries again
        log.exception("could not write an audit checkpoint")


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_syslog: dict[str, logging.Logger] = {}


def _to_syslog(line: str) -> None:
    target = settings.CIS_AUDIT_SYSLOG
    if not target:
        return
    logger = _syslog.get(target)
    if logger is None:
        if target.startswith("/"):
            handler = logging.handlers.SysLogHandler(address=target)
        else:
            host, _, port = target.rpartition(":")
            handler = logging.handlers.SysLogHandler(address=(host or "127.0.0.1", int(port)))
        handler.setFormatter(logging.Formatter("cis-audit: %(message)s"))
        logger = logging.getLogger(f"cis.audit.syslog.{len(_syslog)}")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        _syslog[target] = logger
    logger.info("checkpoint %s", line)


def read_sink(path: Path | None = None) -> tuple[list[Checkpoint], list[tuple[int, str]]]:
    """The checkpoints in the sink, in file order, and the lines that are not checkpoints (line
    number, text) for the verifier to judge."""
    path = path or sink_path()
    found: list[Checkpoint] = []
    odd: list[tuple[int, str]] = []
    if not path.exists():
        return found, odd
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.decode(errors="replace").rstrip("\n")
            if not text.strip():
                continue
            try:
                found.append(parse(text))
            except NotACheckpoint:
                odd.append((number, text))
    return found, odd
