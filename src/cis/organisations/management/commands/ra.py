"""`cis ra`: add, show, update and list Registration Authorities from the server console."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.management.base import CommandParser

from cis.authz.policy import Actor
from cis.organisations.models import RegistrationAuthority
from cis.organisations.selectors import ra_list
from cis.organisations.services import ra_create, ra_update
from cis.people.management.console import DirectoryCommand, codes_arg

Result = tuple[str, Any]


def ra_data(ra: RegistrationAuthority) -> dict[str, Any]:
    return {
        "code": ra.code,
        "name": ra.name,
        "email": ra.email,
        "phone": ra.phone,
        "hours": ra.hours,
        "address": ra.address,
        "geographies": list(ra.geographies),
    }


def _contact_arguments(parser: CommandParser, default: str | None) -> None:
    parser.add_argument("--email", default=default, help="published email address")
    parser.add_argument("--phone", default=default, help="published telephone number")
    parser.add_argument("--hours", default=default, help='e.g. "Monday to Friday, 9am to 5pm"')
    parser.add_argument("--address", default=default)
    parser.add_argument(
        "--geographies",
        type=codes_arg,
        default=None,
        help="its area: ODS health-geography codes, comma separated (e.g. QWO,02T)",
    )


class Command(DirectoryCommand):
    help = "Manage Registration Authorities: add, show, update, list."
    SUBCOMMANDS: ClassVar[dict[str, str]] = {
        "add": "Create a Registration Authority.",
        "show": "Show an RA's contact details and area.",
        "update": "Change an RA's name, contact details or area.",
        "list": "List the active Registration Authorities.",
    }

    def arguments_add(self, parser: CommandParser) -> None:
        parser.add_argument("--code", required=True, help="short code, e.g. RA-NP")
        parser.add_argument("--name", required=True)
        _contact_arguments(parser, "")

    def do_add(self, actor: Actor, options: dict[str, Any]) -> Result:
        ra = ra_create(
            actor=actor,
            code=options["code"],
            name=options["name"],
            email=options["email"],
            phone=options["phone"],
            hours=options["hours"],
            address=options["address"],
            geographies=options["geographies"] or [],
        )
        return f"Created {ra}.", ra_data(ra)

    def arguments_show(self, parser: CommandParser) -> None:
        parser.add_argument("code")

    def do_show(self, actor: Actor, options: dict[str, Any]) -> Result:
        ra = self.ra(options["code"])
        lines = [
            str(ra),
            f"  Email:       {ra.email or 'not published'}",
            f"  Telephone:   {ra.phone or 'not published'}",
            f"  Hours:       {ra.hours or 'not published'}",
            f"  Address:     {ra.address or 'not published'}",
            f"  Area:        {', '.join(ra.geographies) or 'no geographies recorded'}",
        ]
        return "\n".join(lines), ra_data(ra)

    def arguments_update(self, parser: CommandParser) -> None:
        parser.add_argument("code")
        parser.add_argument("--name", default=None)
        _contact_arguments(parser, None)
        parser.add_argument(
            "--reassign",
            action="store_true",
            help="move the open organisations in newly added geographies to this RA",
        )

    def do_update(self, actor: Actor, options: dict[str, Any]) -> Result:
        ra = ra_update(
            actor=actor,
            ra=self.ra(options["code"]),
            name=options["name"],
            email=options["email"],
            phone=options["phone"],
            hours=options["hours"],
            address=options["address"],
            geographies=options["geographies"],
            reassign=options["reassign"],
        )
        return f"Updated {ra}.", ra_data(ra)

    def arguments_list(self, parser: CommandParser) -> None:
        pass

    def do_list(self, actor: Actor, options: dict[str, Any]) -> Result:
        ras = list(ra_list().order_by("code"))
        text = "\n".join(f"{ra.code}  {ra.name}" for ra in ras) or "No Registration Authorities."
        return text, [ra_data(ra) for ra in ras]
