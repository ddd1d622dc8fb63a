"""`cis import ods FILE` and `cis import esr FILE`: a feed file into the directory, at once."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from cis.authz.policy import CONSOLE, Actor
from cis.core.errors import DomainError
from cis.core.validators import normalise_user_id
from cis.imports.ods import LAYOUTS
from cis.imports.report import Outcome
from cis.imports.services import import_file
from cis.organisations.selectors import ra_list
from cis.people.selectors import person_get


class Command(BaseCommand):
    help = (
        "Import organisations from an ODS CSV file (epraccur, edispensary, epharmacyhq, etr, "
        "ets) or people and positions from an ESR extract. All or nothing unless --partial; "
        "running the same file twice changes nothing the second time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["ods", "esr"])
        parser.add_argument("file", help="the CSV file ('-' for standard input)")
        parser.add_argument(
            "--layout", default="", choices=["", *LAYOUTS], help="ODS file (default: its name)"
        )
        parser.add_argument(
            "--partial", action="store_true", help="import the good rows, report the bad ones"
        )
        parser.add_argument(
            "--ra", default="", help="RA for new organisations whose area no RA covers"
        )
        parser.add_argument("--as", dest="as_user", metavar="USER_ID", default="")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["file"]
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {name}: {exc.strerror}.") from None
        try:
            actor: Actor = CONSOLE
            if options["as_user"]:
                actor = person_get(actor=CONSOLE, user_id=normalise_user_id(options["as_user"]))
            default_ra = None
            if options["ra"]:
                default_ra = ra_list().filter(code=options["ra"].strip().upper()).first()
                if default_ra is None:
                    raise CommandError(f"No active Registration Authority {options['ra']}.")
            outcome = self._run(actor, options, data, Path(name).name, default_ra)
        except DomainError as exc:
            raise CommandError(" ".join(exc.message.split())) from exc
        if options["json"]:
            self.stdout.write(json.dumps(outcome.as_dict(), indent=2))
        else:
            for rejection in outcome.rejected:
                self.stderr.write(f"line {rejection.line}: {rejection.field}: {rejection.reason}")
            self.stdout.write(outcome.summary())
        if not outcome.applied:
            raise CommandError(f"{len(outcome.rejected)} row(s) rejected; nothing changed.")

    def _run(
        self, actor: Actor, options: dict[str, Any], data: bytes, filename: str, default_ra: Any
    ) -> Outcome:
        common: dict[str, Any] = {
            "actor": actor,
            "kind": options["kind"],
            "data": data,
            "filename": filename,
            "layout": options["layout"],
            "partial": options["partial"],
            "default_ra": default_ra,
        }
        if not self.stdout.isatty() or options["json"]:
            return import_file(**common)
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task(f"Importing {filename}", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return import_file(**common, progress=progress)
