"""The `cis` script as people run it: real processes, exit statuses, and gunicorn serving."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.live import LiveCis, free_port

CIS = str(Path(sys.executable).with_name("cis"))


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        CIS_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="cis.config.settings.base",
        CIS_LOG_LEVEL="WARNING",
    )
    return env


def _cis(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CIS, *args], env=_env(data_dir), capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with a migrated SQLite database of its own."""
    path = tmp_path_factory.mktemp("cis-real")
    migrated = _cis(path, "migrate", "--no-input", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    return path


def test_a_refusal_exits_non_zero_with_one_line(data_dir: Path) -> None:
    assert _cis(data_dir, "ra", "add", "--code", "RA-P", "--name", "Process RA").returncode == 0
    result = _cis(
        data_dir, "org", "add", "--ods", "FLM4", "--name", "X", "--type", "community_pharmacy",
        "--ra", "RA-P",
    )  # fmt: skip
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "Enter an ODS code in the correct format" in lines[0]
    assert "Traceback" not in result.stderr


def test_a_bad_argument_exits_non_zero(data_dir: Path) -> None:
    result = _cis(data_dir, "person", "add", "--given", "A", "--family", "B", "--dob", "soon")
    assert result.returncode != 0
    assert "'soon' is not a date: use YYYY-MM-DD" in result.stderr


def test_audit_verify_exit_statuses(data_dir: Path) -> None:
    assert _cis(data_dir, "ra", "add", "--code", "RA-V", "--name", "Verify RA").returncode == 0
    intact = _cis(data_dir, "audit", "verify")
    assert intact.returncode == 0
    assert intact.stdout.startswith("Audit chain intact:")
    edited = _cis(
        data_dir, "shell", "-c",
        "from cis.audit.models import AuditEvent; "
        "AuditEvent.objects.filter(seq=1).update(actor_name='Someone else')",
    )  # fmt: skip
    assert edited.returncode == 0, edited.stderr
    broken = _cis(data_dir, "audit", "verify")
    assert broken.returncode != 0
    assert "Audit chain broken at event #1: its seal does not match its contents" in broken.stderr


def test_serve_runs_gunicorn_with_static_files(live_cis: LiveCis) -> None:
    server, data_dir = live_cis.url, live_cis.data_dir
    response = httpx.get(f"{server}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.headers["server"].startswith("gunicorn")
    # collectstatic ran first, and whitenoise serves what it collected.
    collected = sorted(p for p in (data_dir / "static").rglob("*.css") if p.is_file())
    if collected:
        relative = collected[0].relative_to(data_dir / "static").as_posix()
        assert httpx.get(f"{server}/static/{relative}", timeout=10).status_code == 200
    else:
        assert (data_dir / "static").is_dir()


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = _cis(tmp_path, "serve", "--port", str(free_port()))
    assert result.returncode != 0
    assert "unapplied migrations: run `cis migrate` first" in result.stderr


def test_serve_refuses_a_port_in_use(data_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _cis(data_dir, "serve", "--port", str(port), "--skip-collectstatic")
    assert result.returncode != 0
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr
