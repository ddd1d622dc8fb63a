"""`cis audit`: check the trail against its keys and checkpoints; write checkpoints; keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cis.audit import checkpoints, keys
from cis.audit.verify import Result, verify


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class Command(BaseCommand):
    help = "Check the audit trail, write a checkpoint, or manage the audit keys."

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="SUBCOMMAND", title="subcommands"
        )
        check = subcommands.add_parser(
            "verify",
            help="Check every event's seal and link, and every checkpoint; exit 1 naming the "
            "first problem.",
        )
        check.add_argument("--json", action="store_true", help="print the result as JSON")
        check.add_argument(
            "--checkpoints",
            metavar="FILE",
            help="the checkpoint file to check against (default: the data directory's)",
        )
        subcommands.add_parser("checkpoint", help="Sign the chains' heads and append a checkpoint.")
        subcommands.add_parser(
            "init", help="Make the audit keys in the key store if they are missing."
        )
        subcommands.add_parser(
            "rotate-key",
            help="Seal new events with a new key (restart CIS afterwards); old keys stay.",
        )
        subcommands.add_parser(
            "public-key", help="Print the checkpoint key's public half (PEM), for outside checks."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        match options["subcommand"]:
            case "verify":
                self._verify(options)
            case "checkpoint":
                made = checkpoints.write()
                self.stdout.write(
                    f"Checkpoint #{made.number} written to {checkpoints.sink_path()}: "
                    f"{_plural(made.events, 'event')} in {_plural(len(made.chains), 'chain')}"
                )
            case "init":
                self.stdout.write(
                    f"Audit keys ready in {keys.store().describe()}; "
                    f"events are sealed with {keys.ensure()}"
                )
            case "rotate-key":
                new = keys.rotate()
                self.stdout.write(
                    f"New events will be sealed with {new}; restart the CIS processes so that "
                    "they all use it."
                )
            case "public-key":
                keys.ensure()
                self.stdout.write(keys.checkpoint_public_pem().decode().rstrip())

    def _verify(self, options: dict[str, Any]) -> None:
        sink = Path(options["checkpoints"]) if options["checkpoints"] else None
        if sink is not None and not sink.exists():
            raise CommandError(f"There is no checkpoint file at {sink}.")
        result = verify(sink)
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(result), indent=2))
        for note in result.notes:
            self.stderr.write(f"Note: {note}")
        if result.problem is not None:
            raise CommandError(
                f"Audit chain broken at {result.problem.where}: {result.problem.reason} "
                f"({_plural(result.events, 'event')} before it intact)."
            )
        if not options["json"]:
            self.stdout.write(f"Audit chain intact: {_plural(result.events, 'event')}")
            self.stdout.write(_coverage(result))


def _coverage(result: Result) -> str:
    if result.latest is None:
        return (
            "No checkpoint yet: run `cis audit checkpoint` (or `cis jobs run`) to anchor the "
            "trail outside the database."
        )
    return (
        f"{_plural(result.checkpoints, 'checkpoint')} agree; the latest, #{result.latest.number} "
        f"at {result.latest.at:%Y-%m-%d %H:%M:%S %Z}, covers all but "
        f"{_plural(result.uncovered, 'event')}."
    )


def _as_json(result: Result) -> dict[str, Any]:
    out: dict[str, Any] = {"intact": result.intact, "events": result.events}
    out["checkpoints"] = result.checkpoints
    if result.latest is not None:
        out["latest_checkpoint"] = {
            "number": result.latest.number,
            "at": result.latest.at.isoformat(),
            "events": result.latest.events,
        }
    if result.problem is not None:
        out["broken"] = {
            "chain": result.problem.chain,
            "seq": result.problem.seq,
            "event_id": result.problem.event_id,
            "checkpoint": result.problem.checkpoint,
            "where": result.problem.where,
            "reason": result.problem.reason,
        }
    if result.notes:
        out["notes"] = result.notes
    return out
