"""`cis rbac`: (re)load the national role catalogue from its data file, and list its job roles."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from django.core.management.base import CommandParser

from cis.authz.policy import Actor
from cis.people.management.console import DirectoryCommand, codes_arg
from cis.rbac.catalogue import (
    CATALOGUE_FILE,
    catalogue_entry_retire,
    catalogue_entry_save,
    catalogue_load,
)
from cis.rbac.selectors import catalogue_list, catalogue_versions

Result = tuple[str, Any]


class Command(DirectoryCommand):
    help = "The national RBAC catalogue: load, roles, activities, versions, save, retire."
    SUBCOMMANDS: ClassVar[dict[str, str]] = {
        "load": "Load or reload the catalogue; entries gone from the file are retired.",
        "roles": "List the job roles in the catalogue.",
        "activities": "List the activities in the catalogue.",
        "versions": "List the catalogue's versions, newest first.",
        "save-role": "Add a job role, or change one (a new version).",
        "save-activity": "Add an activity, or change one (a new version).",
        "retire": "Retire a job role or activity: no new position may use it.",
        "reinstate": "Put a retired job role or activity back in use.",
    }

    def arguments_load(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file", type=Path, default=CATALOGUE_FILE, help=f"default: {CATALOGUE_FILE}"
        )

    def do_load(self, actor: Actor, options: dict[str, Any]) -> Result:
        result = catalogue_load(actor=actor, path=options["file"])
        if result.unchanged:
            text = f"The catalogue already matches {result.label}: nothing changed."
        else:
            text = (
                f"Loaded {result.label} as catalogue version {result.version}: "
                f"{result.created} created, {result.updated} updated, {result.retired} retired."
            )
        data = {
            "label": result.label,
            "version": result.version,
            "created": result.created,
            "updated": result.updated,
            "retired": result.retired,
        }
        return text, data

    def arguments_roles(self, parser: CommandParser) -> None:
        parser.add_argument("--retired", action="store_true", help="include retired roles")

    def do_roles(self, actor: Actor, options: dict[str, Any]) -> Result:
        roles = list(
            catalogue_list(actor=actor, kind="job_role", include_retired=options["retired"])
        )
        data = [
            {
                "code": r.code,
                "full_code": r.full_code,
                "name": r.name,
                "retired": r.retired,
                "sources": r.sources,
                "baseline": sorted(a.code for a in r.baseline_activities.all()),
                "positions_using": r.positions_using,
            }
            for r in roles
        ]
        lines = [f"{r.full_code:<20} {r.name}{'  (retired)' if r.retired else ''}" for r in roles]
        return "\n".join(lines) or "The catalogue is empty: run `cis rbac load`.", data

    def arguments_activities(self, parser: CommandParser) -> None:
        parser.add_argument("--retired", action="store_true", help="include retired activities")

    def do_activities(self, actor: Actor, options: dict[str, Any]) -> Result:
        rows = list(
            catalogue_list(actor=actor, kind="activity", include_retired=options["retired"])
        )
        data = [
            {
                "code": a.code,
                "name": a.name,
                "retired": a.retired,
                "sources": a.sources,
                "includes": sorted(i.code for i in a.includes.all()),
                "positions_using": a.positions_using,
            }
            for a in rows
        ]
        lines = [f"{a.code}  {a.name}{'  (retired)' if a.retired else ''}" for a in rows]
        return "\n".join(lines) or "The catalogue is empty: run `cis rbac load`.", data

    def arguments_versions(self, parser: CommandParser) -> None:
        pass

    def do_versions(self, actor: Actor, options: dict[str, Any]) -> Result:
        versions = list(catalogue_versions(actor=actor)[:50])
        data = [
            {
                "number": v.number,
                "label": v.label,
                "made_at": v.made_at,
                "made_by": v.made_by_name,
                "summary": v.summary,
            }
            for v in versions
        ]
        lines = [
            f"v{v.number:<4} {v.made_at:%Y-%m-%d %H:%M}  {v.label:<24} {v.made_by_name}: "
            + "; ".join(f"{k} {', '.join(codes)}" for k, codes in v.summary.items())
            for v in versions
        ]
        return "\n".join(lines) or "The catalogue has not been loaded.", data

    def _entry_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--code", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--note", default="")
        parser.add_argument("--sources", type=codes_arg, default=[], help="source keys")

    def arguments_save_role(self, parser: CommandParser) -> None:
        self._entry_arguments(parser)
        parser.add_argument("--sector", default="", help="S-code, e.g. S8000")
        parser.add_argument("--sector-name", default="")
        parser.add_argument("--group", default="", help="G-code, e.g. G8000")
        parser.add_argument("--group-name", default="")
        parser.add_argument(
            "--baseline", type=codes_arg, default=None, help="activity codes (the whole list)"
        )

    def do_save_role(self, actor: Actor, options: dict[str, Any]) -> Result:
        role = catalogue_entry_save(
            actor=actor,
            kind="job_role",
            code=options["code"],
            name=options["name"],
            note=options["note"],
            sources=options["sources"],
            sector_code=options["sector"],
            sector_name=options["sector_name"],
            group_code=options["group"],
            group_name=options["group_name"],
            baseline=options["baseline"],
        )
        return f"Saved {role.code} {role.name}.", {"code": role.code, "name": role.name}

    def arguments_save_activity(self, parser: CommandParser) -> None:
        self._entry_arguments(parser)
        parser.add_argument(
            "--includes", type=codes_arg, default=None, help="activity codes it includes"
        )

    def do_save_activity(self, actor: Actor, options: dict[str, Any]) -> Result:
        activity = catalogue_entry_save(
            actor=actor,
            kind="activity",
            code=options["code"],
            name=options["name"],
            note=options["note"],
            sources=options["sources"],
            includes=options["includes"],
        )
        return f"Saved {activity.code} {activity.name}.", {
            "code": activity.code,
            "name": activity.name,
        }

    def arguments_retire(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["job_role", "activity", "area_of_work"])
        parser.add_argument("code")

    def do_retire(self, actor: Actor, options: dict[str, Any]) -> Result:
        entry = catalogue_entry_retire(actor=actor, kind=options["kind"], code=options["code"])
        return f"Retired {entry.code} {entry.name}.", {"code": entry.code, "retired": True}

    def arguments_reinstate(self, parser: CommandParser) -> None:
        self.arguments_retire(parser)

    def do_reinstate(self, actor: Actor, options: dict[str, Any]) -> Result:
        entry = catalogue_entry_retire(
            actor=actor, kind=options["kind"], code=options["code"], retire=False
        )
        return f"{entry.code} {entry.name} is back in use.", {"code": entry.code, "retired": False}
