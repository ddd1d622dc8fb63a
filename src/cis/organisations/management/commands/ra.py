"""`cis ra`: add and list Registration Authorities from the server console."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.management.base import CommandParser

from cis.authz.policy import Actor
from cis.organisations.selectors import ra_list
from cis.organisations.services import ra_create
from cis.people.management.console import DirectoryCommand

Result = tuple[str, Any]


class Command(DirectoryCommand):
    help = "Manage Registration Authorities: add, list."
    SUBCOMMANDS: ClassVar[dict[str, str]] = {
        "add": "Create a Registration Authority.",
        "list": "List the active Registration Authorities.",
    }

    def arguments_add(self, parser: CommandParser) -> None:
        parser.add_argument("--code", required=True, help="short code, e.g. RA-NP")
        parser.add_argument("--name", required=True)

    def do_add(self, actor: Actor, options: dict[str, Any]) -> Result:
        ra = ra_create(actor=actor, code=options["code"], name=options["name"])
        return f"Created {ra}.", {"code": ra.code, "name": ra.name}

    def arguments_list(self, parser: CommandParser) -> None:
        pass

    def do_list(self, actor: Actor, options: dict[str, Any]) -> Result:
        ras = list(ra_list().order_by("code"))
        text = "\n".join(f"{ra.code}  {ra.name}" for ra in ras) or "No Registration Authorities."
        return text, [{"code": ra.code, "name": ra.name} for ra in ras]
