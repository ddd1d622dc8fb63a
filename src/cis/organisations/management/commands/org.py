"""`cis org`: add, show, list and close organisations from the server console."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.management.base import CommandParser

from cis.authz.policy import Actor
from cis.organisations.models import OrganisationType
from cis.organisations.selectors import organisation_list
from cis.organisations.services import (
    organisation_close,
    organisation_create,
    organisation_move,
    organisation_reopen,
    organisation_update,
)
from cis.people.management.console import DirectoryCommand, date_arg, organisation_data

Result = tuple[str, Any]


class Command(DirectoryCommand):
    help = "Manage organisations: add, show, list, update, move, close, reopen."
    SUBCOMMANDS: ClassVar[dict[str, str]] = {
        "add": "Create an organisation served by an RA.",
        "show": "Show an organisation.",
        "list": "List organisations, optionally matching a name or ODS code.",
        "update": "Change an organisation's name, address or health geography.",
        "move": "Put an organisation under another parent (or none), or under another RA.",
        "close": "Close an organisation (its child organisations first).",
        "reopen": "Reopen a closed organisation.",
    }

    def arguments_add(self, parser: CommandParser) -> None:
        parser.add_argument("--ods", required=True, help="ODS code, e.g. FLM49 or A81001")
        parser.add_argument("--name", required=True)
        parser.add_argument("--type", required=True, choices=OrganisationType.values)
        parser.add_argument("--ra", required=True, help="code of the RA that serves it")
        parser.add_argument("--parent", default=None, help="ODS code of its parent organisation")
        parser.add_argument("--address", default="")
        parser.add_argument("--geography", default="", help="ODS health geography, e.g. QWO")

    def do_add(self, actor: Actor, options: dict[str, Any]) -> Result:
        parent = self.organisation(actor, options["parent"]) if options["parent"] else None
        org = organisation_create(
            actor=actor,
            ods_code=options["ods"],
            name=options["name"],
            org_type=options["type"],
            serving_ra=self.ra(options["ra"]),
            parent=parent,
            address=options["address"],
            geography=options["geography"],
        )
        under = f", under {parent}" if parent else ""
        return f"Created {org}{under}, served by {org.serving_ra}.", organisation_data(org)

    def arguments_show(self, parser: CommandParser) -> None:
        parser.add_argument("ods_code")

    def do_show(self, actor: Actor, options: dict[str, Any]) -> Result:
        org = self.organisation(actor, options["ods_code"])
        children = list(org.children.order_by("ods_code"))
        lines = [
            str(org),
            f"  Type:        {org.get_org_type_display()}",
            f"  Status:      {org.get_status_display()}",
            f"  Parent:      {org.parent or 'none'}",
            f"  Served by:   {org.serving_ra}",
            f"  Address:     {org.address or 'not recorded'}",
            f"  Geography:   {org.geography or 'not recorded'}",
            f"  Children:    {', '.join(c.ods_code for c in children) or 'none'}",
        ]
        data = {**organisation_data(org), "children": [c.ods_code for c in children]}
        return "\n".join(lines), data

    def arguments_list(self, parser: CommandParser) -> None:
        parser.add_argument("query", nargs="?", default="")

    def do_list(self, actor: Actor, options: dict[str, Any]) -> Result:
        orgs = list(organisation_list(actor=actor, query=options["query"]))
        lines = [
            f"{o.ods_code:<7} {o.name}  ({o.get_org_type_display()}, {o.status})" for o in orgs
        ]
        return "\n".join(lines) or "No organisations.", [organisation_data(o) for o in orgs]

    def arguments_update(self, parser: CommandParser) -> None:
        parser.add_argument("ods_code")
        parser.add_argument("--name", default=None)
        parser.add_argument("--address", default=None)
        parser.add_argument("--geography", default=None, help="ODS health geography ('' clears)")

    def do_update(self, actor: Actor, options: dict[str, Any]) -> Result:
        org = organisation_update(
            actor=actor,
            organisation=self.organisation(actor, options["ods_code"]),
            name=options["name"],
            address=options["address"],
            geography=options["geography"],
        )
        return f"Updated {org}.", organisation_data(org)

    def arguments_move(self, parser: CommandParser) -> None:
        parser.add_argument("ods_code")
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--parent", default=None, help="ODS code of the new parent")
        where.add_argument(
            "--no-parent", action="store_true", help="stand on its own, under no parent"
        )
        parser.add_argument("--ra", default=None, help="code of the RA to serve it from now on")

    def do_move(self, actor: Actor, options: dict[str, Any]) -> Result:
        org = self.organisation(actor, options["ods_code"])
        changes: dict[str, Any] = {}
        if options["no_parent"]:
            changes["parent"] = None
        elif options["parent"]:
            changes["parent"] = self.organisation(actor, options["parent"])
        if options["ra"]:
            changes["serving_ra"] = self.ra(options["ra"])
        org = organisation_move(actor=actor, organisation=org, **changes)
        under = f"under {org.parent}" if org.parent else "on its own"
        return f"{org} is now {under}, served by {org.serving_ra}.", organisation_data(org)

    def arguments_close(self, parser: CommandParser) -> None:
        parser.add_argument("ods_code")
        parser.add_argument("--on", type=date_arg, default=None, help="closing date (today)")

    def do_close(self, actor: Actor, options: dict[str, Any]) -> Result:
        org = organisation_close(
            actor=actor,
            organisation=self.organisation(actor, options["ods_code"]),
            on=options["on"],
        )
        return f"Closed {org} on {org.closed_on}.", organisation_data(org)

    def arguments_reopen(self, parser: CommandParser) -> None:
        parser.add_argument("ods_code")

    def do_reopen(self, actor: Actor, options: dict[str, Any]) -> Result:
        org = organisation_reopen(
            actor=actor, organisation=self.organisation(actor, options["ods_code"])
        )
        return f"Reopened {org}.", organisation_data(org)
