"""`cis rbac`: (re)load the national role catalogue from its data file, and list its job roles."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from django.core.management.base import CommandParser

from cis.authz.policy import Actor
from cis.people.management.console import DirectoryCommand
from cis.rbac.selectors import catalogue_roles
from cis.rbac.services import CATALOGUE_FILE, catalogue_load

Result = tuple[str, Any]


class Command(DirectoryCommand):
    help = "The national RBAC catalogue: load, roles."
    SUBCOMMANDS: ClassVar[dict[str, str]] = {
        "load": "Load or reload the catalogue; entries gone from the file are retired.",
        "roles": "List the job roles in the catalogue.",
    }

    def arguments_load(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file", type=Path, default=CATALOGUE_FILE, help=f"default: {CATALOGUE_FILE}"
        )

    def do_load(self, actor: Actor, options: dict[str, Any]) -> Result:
        result = catalogue_load(actor=actor, path=options["file"])
        text = (
            f"Loaded catalogue {result.version}: {result.created} created, "
            f"{result.updated} updated, {result.retired} retired."
        )
        data = {
            "version": result.version,
            "created": result.created,
            "updated": result.updated,
            "retired": result.retired,
        }
        return text, data

    def arguments_roles(self, parser: CommandParser) -> None:
        pass

    def do_roles(self, actor: Actor, options: dict[str, Any]) -> Result:
        roles = list(catalogue_roles())
        data = [
            {
                "code": r.code,
                "full_code": r.full_code,
                "name": r.name,
                "illustrative": r.illustrative,
                "baseline": sorted(a.code for a in r.baseline_activities.all()),
            }
            for r in roles
        ]
        lines = [
            f"{r.full_code:<20} {r.name}{'  (illustrative)' if r.illustrative else ''}"
            for r in roles
        ]
        return "\n".join(lines) or "The catalogue is empty: run `cis rbac load`.", data
