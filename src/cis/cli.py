"""The `cis` command: every Django management command, plus serve and demo."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

SERVING = ("serve", "demo")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def metrics_directory() -> Path:
    """Where this server's gunicorn workers keep their counters (prometheus_client's
    multiprocess mode), so that /metrics, whichever worker answers, adds up all of them.

    A directory per `cis serve` process under $CIS_DATA_DIR/run/metrics (several servers may
    share a data directory), set before anything imports the client; those of servers no longer
    running are removed. An operator's own PROMETHEUS_MULTIPROC_DIR is used as it is.
    """
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        return Path(given)
    base = Path(os.environ.get("CIS_DATA_DIR", "var")).resolve() / "run" / "metrics"
    if base.is_dir():
        for old in base.iterdir():
            if old.name.isdigit() and not _running(int(old.name)):
                shutil.rmtree(old, ignore_errors=True)
    mine = base / str(os.getpid())
    mine.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(mine)
    return mine


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv if argv is None else argv)
    if len(args) > 1 and args[1] in SERVING:
        metrics_directory()
    if len(args) > 1 and args[1] == "demo":
        # The demo always runs with the demo settings: persona sign-in, mail written to files.
        os.environ["DJANGO_SETTINGS_MODULE"] = "cis.config.settings.demo"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cis.config.settings.base")
    from django.core.management import execute_from_command_line  # noqa: PLC0415

    from cis.core.errors import DomainError  # noqa: PLC0415 - after the settings are chosen

    try:
        execute_from_command_line(args)
    except DomainError as exc:
        # A refusal a command did not turn into a CommandError itself: one line, never a trace.
        sys.stderr.write(f"Error: {exc.message}\n")
        sys.exit(1)
    except (EOFError, KeyboardInterrupt):
        sys.stderr.write("Stopped: no more input.\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
