"""Secrets kept as files in the data directory: created once, readable only by their owner.

A file appears under its name only whole and on disk: it is written and synced under a
temporary name first, then linked to its real name (which fails if that name exists), and the
directory is synced. So a process that finds the file never reads it half-written, however many
processes race to make it, and a power cut leaves either no file or the whole one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Create a file only its owner can read, failing rather than overwriting (FileExistsError)."""
    # The leading dot keeps the half-made file out of listings of the directory's real files.
    draft = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(draft, path)  # atomic, and FileExistsError if another process got there first
    finally:
        draft.unlink(missing_ok=True)
    _sync_directory(path.parent)


def secret_file(path: Path, make: Callable[[], bytes]) -> bytes:
    """The secret in `path`, made with `make()` on first use; safe when processes race to it."""
    if not path.exists():
        try:
            write_private(path, make())
        except FileExistsError:
            pass  # another process made it first; theirs is the one everybody uses
    return path.read_bytes().strip()
