"""`cis position`: create and list positions (bundles of job roles) at an organisation."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.management.base import CommandParser

from cis.authz.policy import Actor
from cis.core.errors import NotFound
from cis.people.management.console import DirectoryCommand, codes_arg, position_data
from cis.rbac.models import Position
from cis.rbac.selectors import position_list
from cis.rbac.services import position_create, position_retire, position_update

Result = tuple[str, Any]


class Command(DirectoryCommand):
    help = "Manage positions: add, list, update, retire."
    SUBCOMMANDS: ClassVar[dict[str, str]] = {
        "add": "Create a position at an organisation from catalogue job roles.",
        "list": "List the positions at an organisation.",
        "update": "Change a position for everyone who holds it.",
        "retire": "Retire a position: its holders' assignments end today.",
    }

    def position(self, actor: Actor, position_id: int) -> Position:
        found = position_list(actor=actor).filter(pk=position_id).first()
        if found is None:
            raise NotFound(f"No position #{position_id}, or not one you can see.")
        return found

    def arguments_add(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="ODS code of the organisation")
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--roles", required=True, type=codes_arg, help="job role codes, e.g. R8003,R1290"
        )
        parser.add_argument(
            "--activities", type=codes_arg, default=[], help="extra activity codes, e.g. B0267"
        )
        parser.add_argument("--workgroups", type=codes_arg, default=[])
        parser.add_argument("--area", default="", help="area of work code")
        parser.add_argument(
            "--assignable", action="store_true", help="Sponsors may assign it without the RA"
        )

    def do_add(self, actor: Actor, options: dict[str, Any]) -> Result:
        position = position_create(
            actor=actor,
            organisation=self.organisation(actor, options["org"]),
            name=options["name"],
            job_role_codes=options["roles"],
            activity_codes=options["activities"],
            workgroups=options["workgroups"],
            area_of_work_code=options["area"],
            assignable=options["assignable"],
        )
        data = position_data(position)
        assignable = " (assignable by Sponsors)" if position.assignable else ""
        text = (
            f"Created position #{position.pk} '{position.name}' at {position.organisation}"
            f"{assignable}: roles {', '.join(data['job_roles'])}; "
            f"activities {', '.join(data['activities']) or 'none'}."
        )
        return text, data

    def arguments_list(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="ODS code of the organisation")

    def do_list(self, actor: Actor, options: dict[str, Any]) -> Result:
        org = self.organisation(actor, options["org"])
        positions = list(position_list(actor=actor, organisation=org).order_by("name"))
        data = [position_data(p) for p in positions]
        lines = [
            f"#{d['id']:<5} {d['name']}  [{', '.join(d['job_roles'])}]"
            f"{'  assignable' if d['assignable'] else ''}"
            for d in data
        ]
        return "\n".join(lines) or f"No positions at {org}.", data

    def arguments_update(self, parser: CommandParser) -> None:
        parser.add_argument("position_id", type=int)
        parser.add_argument("--name", default=None)
        parser.add_argument("--roles", type=codes_arg, default=None, help="the whole new list")
        parser.add_argument(
            "--activities", type=codes_arg, default=None, help="the whole new list of activities"
        )
        parser.add_argument("--workgroups", type=codes_arg, default=None)
        parser.add_argument("--area", default=None, help="area of work code ('' clears it)")
        assignable = parser.add_mutually_exclusive_group()
        assignable.add_argument("--assignable", dest="assignable", action="store_true")
        assignable.add_argument("--not-assignable", dest="assignable", action="store_false")
        parser.set_defaults(assignable=None)

    def do_update(self, actor: Actor, options: dict[str, Any]) -> Result:
        position = position_update(
            actor=actor,
            position=self.position(actor, options["position_id"]),
            name=options["name"],
            job_role_codes=options["roles"],
            activity_codes=options["activities"],
            workgroups=options["workgroups"],
            area_of_work_code=options["area"],
            assignable=options["assignable"],
        )
        return f"Updated position #{position.pk} '{position.name}'.", position_data(position)

    def arguments_retire(self, parser: CommandParser) -> None:
        parser.add_argument("position_id", type=int)
        parser.add_argument("--reason", default="")

    def do_retire(self, actor: Actor, options: dict[str, Any]) -> Result:
        position = position_retire(
            actor=actor,
            position=self.position(actor, options["position_id"]),
            reason=options["reason"],
        )
        return f"Retired position #{position.pk} '{position.name}'.", position_data(position)
