"""Secret files in the data directory: made once, owner-only, and never overwritten."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from cis.core.private_files import secret_file, write_private


def test_a_secret_is_made_once_and_readable_only_by_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    first = secret_file(path, lambda: b"first\n")
    assert first == b"first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_file(path, lambda: b"second") == b"first"


def test_a_process_that_loses_the_race_uses_the_winners_secret(tmp_path: Path) -> None:
    path = tmp_path / "secret"

    def made_meanwhile() -> bytes:
        write_private(path, b"winner")  # another process gets there between the check and ours
        return b"loser"

    assert secret_file(path, made_meanwhile) == b"winner"


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "key"
    write_private(path, b"one")
    with pytest.raises(FileExistsError):
        write_private(path, b"two")
    assert path.read_bytes() == b"one"


def test_a_file_is_never_seen_half_written(tmp_path: Path) -> None:
    """Whoever finds the file reads all of it: it appears under its name only when whole."""
    path = tmp_path / "key"
    seen: list[bytes] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                seen.append(path.read_bytes())
            except FileNotFoundError:
                continue

    watcher = threading.Thread(target=reader)
    watcher.start()
    try:
        write_private(path, b"x" * 4_000_000)
    finally:
        stop.set()
        watcher.join()
    assert all(len(found) == 4_000_000 for found in seen)
    assert [p.name for p in tmp_path.iterdir()] == ["key"]  # no draft left behind
