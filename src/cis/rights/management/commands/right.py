"""`cis right`: grant, revoke and list CIS rights (LSA, Sponsor, ... service desk)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.management.base import CommandParser

from cis.authz.policy import Actor
from cis.core.errors import NotFound, ValidationFailed
from cis.people.management.console import DirectoryCommand, date_arg, grant_data, grant_line
from cis.rights.models import Right, RightGrant
from cis.rights.selectors import grant_list
from cis.rights.services import right_grant, right_revoke

Result = tuple[str, Any]


class Command(DirectoryCommand):
    help = "Manage CIS rights: grant, revoke, list."
    SUBCOMMANDS: ClassVar[dict[str, str]] = {
        "grant": "Grant a right at an organisation (optionally its children) or an RA's area.",
        "revoke": "Revoke a right.",
        "list": "List rights in force, for one person or for everyone you can see.",
    }

    def arguments_grant(self, parser: CommandParser) -> None:
        parser.add_argument("--person", required=True, metavar="USER_ID")
        parser.add_argument("--right", required=True, choices=Right.values)
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--org", metavar="ODS_CODE", help="the organisation it covers")
        scope.add_argument("--ra", metavar="RA_CODE", help="the RA whose whole area it covers")
        parser.add_argument(
            "--children", action="store_true", help="with --org: its child organisations too"
        )
        parser.add_argument("--start", type=date_arg, default=None, help="YYYY-MM-DD (today)")
        parser.add_argument("--end", type=date_arg, default=None, help="YYYY-MM-DD (open-ended)")

    def do_grant(self, actor: Actor, options: dict[str, Any]) -> Result:
        if options["children"] and not options["org"]:
            raise ValidationFailed("--children extends an organisation's scope: give --org too.")
        grant = right_grant(
            actor=actor,
            person=self.person(actor, options["person"]),
            right=options["right"],
            organisation=self.organisation(actor, options["org"]) if options["org"] else None,
            include_children=options["children"],
            ra=self.ra(options["ra"]) if options["ra"] else None,
            start_date=options["start"],
            end_date=options["end"],
        )
        return f"Granted to {grant.person}: {grant_line(grant)}.", grant_data(grant)

    def arguments_revoke(self, parser: CommandParser) -> None:
        parser.add_argument("grant_id", type=int)
        parser.add_argument("--reason", default="")

    def _grant(self, actor: Actor, grant_id: int) -> RightGrant:
        grant = grant_list(actor=actor, current_only=False).filter(pk=grant_id).first()
        if grant is None:
            raise NotFound(f"No right #{grant_id}, or not one you can see.")
        return grant

    def do_revoke(self, actor: Actor, options: dict[str, Any]) -> Result:
        grant = right_revoke(
            actor=actor, grant=self._grant(actor, options["grant_id"]), reason=options["reason"]
        )
        return f"Revoked from {grant.person}: {grant_line(grant)}.", grant_data(grant)

    def arguments_list(self, parser: CommandParser) -> None:
        parser.add_argument("--person", metavar="USER_ID", default=None)

    def do_list(self, actor: Actor, options: dict[str, Any]) -> Result:
        person = self.person(actor, options["person"]) if options["person"] else None
        grants = list(grant_list(actor=actor, person=person).order_by("id"))
        lines = [f"{g.person.user_id}  {g.person.full_name}: {grant_line(g)}" for g in grants]
        return "\n".join(lines) or "No rights in force.", [grant_data(g) for g in grants]
