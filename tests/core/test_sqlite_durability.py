"""SQLite's sync setting: production syncs every commit; the embedded default says what it risks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

READ = (
    "import importlib, sys; "
    "s = importlib.import_module(sys.argv[1]); "
    "print(s.DATABASES['default']['OPTIONS']['init_command'])"
)


def _pragmas(module: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    environ.pop("CIS_SQLITE_SYNCHRONOUS", None)
    environ.update(CIS_DATA_DIR=str(tmp_path), CIS_SECRET_KEY="k" * 50, **env)
    return subprocess.run(
        [sys.executable, "-c", READ, module],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("module", "env", "expected"),
    [
        ("cis.config.settings.base", {}, "synchronous=NORMAL"),
        ("cis.config.settings.production", {}, "synchronous=FULL"),
        ("cis.config.settings.base", {"CIS_SQLITE_SYNCHRONOUS": "full"}, "synchronous=FULL"),
        ("cis.config.settings.production", {"CIS_SQLITE_SYNCHRONOUS": "NORMAL"}, "=NORMAL"),
    ],
)
def test_the_sync_mode_each_deployment_gets(
    module: str, env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    read = _pragmas(module, tmp_path, **env)
    assert read.returncode == 0, read.stderr
    assert expected in read.stdout
    assert "journal_mode=WAL" in read.stdout


def test_a_sync_mode_sqlite_would_not_keep_is_refused(tmp_path: Path) -> None:
    read = _pragmas("cis.config.settings.base", tmp_path, CIS_SQLITE_SYNCHRONOUS="OFF")
    assert read.returncode != 0
    assert "CIS_SQLITE_SYNCHRONOUS must be NORMAL or FULL, not 'OFF'" in read.stderr
