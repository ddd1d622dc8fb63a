"""`cis` commands run as separate processes (other machines) against the test's own database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

CIS = str(Path(sys.executable).with_name("cis"))


def database_url() -> str:
    """The URL of the database this test is using (pytest-django's test database)."""
    conf = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{conf['NAME']}"
    user = conf.get("USER") or "postgres"
    host = conf.get("HOST") or "127.0.0.1"
    port = conf.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{conf['NAME']}"


def cis_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        CIS_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="cis.config.settings.base",
        CIS_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def start_cis(data_dir: Path, *args: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
        [CIS, *args],
        env=cis_env(data_dir, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def cis_run(data_dir: Path, *args: str, **extra: str) -> str:
    """Run one `cis` command to completion; its output, or AssertionError with its errors."""
    done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [CIS, *args],
        env=cis_env(data_dir, **extra),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"cis {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout
