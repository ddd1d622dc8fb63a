"""`cis audit verify`: walk the hash chain and name the first event that was edited or lost."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cis.audit.trail import verify


class Command(BaseCommand):
    help = "Check the audit trail: exit 0 when the hash chain is intact, non-zero otherwise."

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="SUBCOMMAND", title="subcommands"
        )
        check = subcommands.add_parser(
            "verify", help="Check every event's link to the one before it."
        )
        check.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        count, broken = verify()
        if options["json"]:
            result: dict[str, Any] = {"intact": broken is None, "events": count}
            if broken is not None:
                result["broken"] = {
                    "chain": broken.chain,
                    "seq": broken.seq,
                    "event_id": broken.event_id,
                    "reason": broken.reason,
                }
            self.stdout.write(json.dumps(result, indent=2))
        if broken is not None:
            raise CommandError(
                f"Audit chain broken at {broken.where}: {broken.reason} "
                f"({count} event{'s' if count != 1 else ''} before it intact)."
            )
        if not options["json"]:
            self.stdout.write(f"Audit chain intact: {count} events")
