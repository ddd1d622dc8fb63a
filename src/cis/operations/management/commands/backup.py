"""`cis backup`: the database, key files and audit checkpoints into one archive."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cis.core.errors import DomainError
from cis.operations.backup import backup


class Command(BaseCommand):
    help = (
        "Write the database, the data directory's key files and the audit checkpoints into one "
        "archive (readable only by its owner). CIS may keep running meanwhile."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out",
            metavar="FILE",
            help="the archive to write (default: cis-backup-<date and time>.tar.gz here); "
            "never overwritten",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        output = Path(options["out"] or f"cis-backup-{stamp}.tar.gz")
        try:
            made = backup(output)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror or exc}.") from None
        size = output.stat().st_size
        self.stdout.write(
            f"Backup written to {output} ({size:,} bytes): the {made.vendor} database and "
            f"{len(made.files) - 1} files. It holds the CA's and the audit trail's keys: keep it "
            "as safe as the server."
        )
