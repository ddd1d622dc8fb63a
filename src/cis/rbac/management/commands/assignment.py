"""`cis assignment`: give a person a position, end it, and list who holds what."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.management.base import CommandParser

from cis.authz.policy import Actor
from cis.core.errors import NotFound, ValidationFailed
from cis.people.management.console import (
    DirectoryCommand,
    assignment_data,
    assignment_line,
    date_arg,
)
from cis.rbac.models import Position, PositionAssignment
from cis.rbac.selectors import assignment_list, position_list
from cis.rbac.services import assignment_create, assignment_end

Result = tuple[str, Any]


class Command(DirectoryCommand):
    help = "Manage position assignments: add, end, list."
    SUBCOMMANDS: ClassVar[dict[str, str]] = {
        "add": "Assign a verified person to a position.",
        "end": "End an assignment (today, or on a given date).",
        "list": "List a person's or an organisation's assignments.",
    }

    def arguments_add(self, parser: CommandParser) -> None:
        parser.add_argument("--person", required=True, metavar="USER_ID")
        parser.add_argument("--position-id", required=True, type=int)
        parser.add_argument("--start", type=date_arg, default=None, help="YYYY-MM-DD (today)")
        parser.add_argument("--end", type=date_arg, default=None, help="YYYY-MM-DD (open-ended)")

    def _position(self, actor: Actor, position_id: int) -> Position:
        position = position_list(actor=actor).filter(pk=position_id).first()
        if position is None:
            raise NotFound(f"No position #{position_id}, or not one you can see.")
        return position

    def do_add(self, actor: Actor, options: dict[str, Any]) -> Result:
        assignment = assignment_create(
            actor=actor,
            person=self.person(actor, options["person"]),
            position=self._position(actor, options["position_id"]),
            start_date=options["start"],
            end_date=options["end"],
        )
        text = f"Assigned {assignment.person}: {assignment_line(assignment)}."
        return text, assignment_data(assignment)

    def arguments_end(self, parser: CommandParser) -> None:
        parser.add_argument("assignment_id", type=int)
        parser.add_argument("--end", type=date_arg, default=None, help="YYYY-MM-DD (today)")

    def _assignment(self, actor: Actor, assignment_id: int) -> PositionAssignment:
        assignment = assignment_list(actor=actor).filter(pk=assignment_id).first()
        if assignment is None:
            raise NotFound(f"No assignment #{assignment_id}, or not one you can see.")
        return assignment

    def do_end(self, actor: Actor, options: dict[str, Any]) -> Result:
        assignment = assignment_end(
            actor=actor,
            assignment=self._assignment(actor, options["assignment_id"]),
            end_date=options["end"],
        )
        text = f"Ended for {assignment.person}: {assignment_line(assignment)}."
        return text, assignment_data(assignment)

    def arguments_list(self, parser: CommandParser) -> None:
        parser.add_argument("--person", metavar="USER_ID", default=None)
        parser.add_argument("--org", metavar="ODS_CODE", default=None)
        parser.add_argument("--current", action="store_true", help="only those in force today")

    def do_list(self, actor: Actor, options: dict[str, Any]) -> Result:
        if not (options["person"] or options["org"]):
            raise ValidationFailed("Give --person USER_ID or --org ODS_CODE.")
        rows = assignment_list(
            actor=actor,
            person=self.person(actor, options["person"]) if options["person"] else None,
            organisation=self.organisation(actor, options["org"]) if options["org"] else None,
            current_only=options["current"],
        ).order_by("start_date", "id")
        assignments = list(rows)
        lines = [f"{a.person.user_id}  {assignment_line(a)}" for a in assignments]
        return "\n".join(lines) or "No assignments.", [assignment_data(a) for a in assignments]
