"""A simulated power cut: what the disk holds is what was synced, plus some of what was not.

`writelog.c`, preloaded into every server process, appends each write, truncation and sync
made to the database's files to a log (as Linux's dm-log-writes does for a block device). The
run is then cut with SIGKILL to every process at once. From the files as they were before the
run and the log, `rebuild` makes the files a disk would hold after a power cut at that moment:
every file as of its last sync, and optionally some of its later writes (the kernel may have
written some dirty pages back before the cut, in any order).
"""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).with_name("writelog.c")


def build(directory: Path) -> Path:
    """Compile the write log into a shared library (gcc is on every machine that runs CI)."""
    if shutil.which("gcc") is None:
        raise RuntimeError("the power-loss check needs gcc to build reliability/powerloss")
    library = directory / "writelog.so"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O2", "-o", str(library), str(SOURCE), "-ldl", "-lpthread"],
        check=True,
        capture_output=True,
    )
    return library


@dataclass(frozen=True)
class Record:
    kind: str  # W: write, T: truncate, S: sync
    path: str
    number: int  # the write's offset, or the truncation's length
    data: bytes


def read_log(path: Path) -> Iterator[Record]:
    raw = path.read_bytes() if path.exists() else b""
    at = 0
    while at + 5 <= len(raw):
        kind = chr(raw[at])
        (path_len,) = struct.unpack_from("<I", raw, at + 1)
        name = raw[at + 5 : at + 5 + path_len].decode()
        at += 5 + path_len
        number, size = struct.unpack_from("<QI", raw, at)
        at += 12
        yield Record(kind, name, number, raw[at : at + size])
        at += size


def _apply(content: bytearray, record: Record) -> None:
    if record.kind == "W":
        end = record.number + len(record.data)
        if len(content) < end:
            content.extend(b"\0" * (end - len(content)))
        content[record.number : end] = record.data
    elif record.kind == "T":
        del content[record.number :]
        if len(content) < record.number:
            content.extend(b"\0" * (record.number - len(content)))


def rebuild(
    before: dict[str, bytes], records: list[Record], *, survivors: float = 0.0, seed: int = 0
) -> dict[str, bytes]:
    """The files after a power cut at the end of the log.

    Each file is as of its last sync; `survivors` is the chance that each later (unsynced)
    write or truncation reached the disk anyway, decided independently, in order.
    """
    chance = random.Random(seed)  # noqa: S311 - a simulation, not a secret
    files = {name: bytearray(content) for name, content in before.items()}
    pending: dict[str, list[Record]] = {}
    for record in records:
        if record.kind == "S":
            content = files.setdefault(record.path, bytearray())
            for write in pending.pop(record.path, []):
                _apply(content, write)
        else:
            pending.setdefault(record.path, []).append(record)
    for name, writes in pending.items():
        content = files.setdefault(name, bytearray())
        for write in writes:
            if chance.random() < survivors:
                _apply(content, write)
    return {name: bytes(content) for name, content in files.items()}


def everything(before: dict[str, bytes], records: list[Record]) -> dict[str, bytes]:
    """The files as the processes left them (every write applied): checks the log is whole."""
    files = {name: bytearray(content) for name, content in before.items()}
    for record in records:
        if record.kind != "S":
            _apply(files.setdefault(record.path, bytearray()), record)
    return {name: bytes(content) for name, content in files.items()}


# Bytes of one write call at most (SQLite writes a page, or a WAL frame header and its page).
WRITE_LIMIT = 65536


def unlogged(replayed: dict[str, bytes], actual: dict[str, bytes]) -> list[tuple[str, int, int]]:
    """Where the files differ from the replayed log: (file, offset, length) per region.

    A record is appended after its call returns, so a process killed between the two leaves
    one write on disk that the log lacks: the cut catches at most one such write per process.
    Such a write was not synced (its sync would come after it), so a rebuilt power cut that
    lacks it is one the disk could hold; the harness is sound as long as the differences are
    no more than those in-flight writes. Runs of differing bytes closer than a write apart
    count as one region.
    """
    regions = []
    for name in sorted(replayed.keys() | actual.keys()):
        old, new = replayed.get(name, b""), actual.get(name, b"")
        size = max(len(old), len(new))
        old, new = old.ljust(size, b"\0"), new.ljust(size, b"\0")
        start = end = -1
        for at in range(0, size, 512):  # compare in sectors: fast, and fine enough
            if old[at : at + 512] == new[at : at + 512]:
                continue
            if start >= 0 and at - end < WRITE_LIMIT:
                end = at + 512
                continue
            if start >= 0:
                regions.append((name, start, end - start))
            start, end = at, at + 512
        if start >= 0:
            regions.append((name, start, min(end, size) - start))
    return regions
