"""`cis restore`: an archive from `cis backup` into a new, empty database and data directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cis.core.errors import DomainError
from cis.operations.backup import restore


class Command(BaseCommand):
    help = (
        "Restore an archive made by `cis backup` into this installation's database and data "
        "directory, both of which must be empty. The archive is checked whole first: if "
        "anything is wrong, nothing is changed. Then run `cis audit verify`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", metavar="FILE", help="the archive `cis backup` wrote")

    def handle(self, *args: Any, **options: Any) -> None:
        archive = Path(options["archive"])
        try:
            made = restore(archive)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"Restored the backup made {made.made_at} by CIS {made.version}: the "
            f"{made.vendor} database and {len(made.files) - 1} files. Next: `cis migrate` if "
            "this CIS is newer, then `cis audit verify`."
        )
