"""Secrets kept as files in the data directory: created once, readable only by their owner."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Create a file only its owner can read, failing rather than overwriting (FileExistsError)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def secret_file(path: Path, make: Callable[[], bytes]) -> bytes:
    """The secret in `path`, made with `make()` on first use; safe when processes race to it."""
    if not path.exists():
        try:
            write_private(path, make())
        except FileExistsError:
            pass  # another process made it first; theirs is the one everybody uses
    return path.read_bytes().strip()
