"""What every directory command shares: who acts, argument types, clear errors and JSON output."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cis.authz.policy import CONSOLE, Actor
from cis.core.errors import DomainError, NotFound, ProbableDuplicate
from cis.core.validators import normalise_user_id
from cis.organisations.models import Organisation, RegistrationAuthority
from cis.organisations.selectors import organisation_get, ra_list
from cis.people.models import Person
from cis.people.selectors import person_get
from cis.rbac.models import Position, PositionAssignment
from cis.rights.models import RightGrant


def date_arg(value: str) -> dt.date:
    """An argparse type: an ISO date, refused with a message that says how to write one."""
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date: use YYYY-MM-DD") from None


def codes_arg(value: str) -> list[str]:
    """An argparse type: a comma-separated list (R8000,R8001), blanks dropped."""
    return [part.strip() for part in value.split(",") if part.strip()]


def one_line(message: str) -> str:
    return " ".join(message.split())


class DirectoryCommand(BaseCommand):
    """A command with subcommands (`cis person add ...`) that each call one service or selector.

    Subclasses list SUBCOMMANDS (name -> help) and define `arguments_<name>(parser)` and
    `do_<name>(actor, options) -> (text, data)`. Any DomainError becomes a one-line CommandError,
    and the service's transaction guarantees that nothing changed.
    """

    SUBCOMMANDS: ClassVar[dict[str, str]] = {}

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="SUBCOMMAND", title="subcommands"
        )
        for name, help_text in self.SUBCOMMANDS.items():
            sub = subcommands.add_parser(name, help=help_text, description=help_text)
            sub.add_argument(
                "--as",
                dest="as_user",
                metavar="USER_ID",
                help="act as this person under the policy, instead of as the console operator",
            )
            sub.add_argument("--json", action="store_true", help="print the result as JSON")
            self._method("arguments", name)(sub)

    def _method(self, prefix: str, name: str) -> Callable[..., Any]:
        method: Callable[..., Any] = getattr(self, f"{prefix}_{name.replace('-', '_')}")
        return method

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            actor = self.actor(options.get("as_user"))
            text, data = self._method("do", options["subcommand"])(actor, options)
        except DomainError as exc:
            raise CommandError(one_line(self.explain(exc))) from exc
        if options.get("json"):
            self.stdout.write(json.dumps(data, indent=2, default=str))
        else:
            self.stdout.write(text)

    def explain(self, exc: DomainError) -> str:
        """The error's own message, plus how to go on where the command line offers a way."""
        if isinstance(exc, ProbableDuplicate):
            return (
                f"{exc.message} If this is a different person, repeat with "
                f"--ack-duplicate {' '.join(exc.matches)}."
            )
        return exc.message

    # Who acts, and lookups by the keys people type.

    def actor(self, as_user: str | None) -> Actor:
        if not as_user:
            return CONSOLE
        return person_get(actor=CONSOLE, user_id=normalise_user_id(as_user))

    def person(self, actor: Actor, user_id: str) -> Person:
        return person_get(actor=actor, user_id=normalise_user_id(user_id))

    def organisation(self, actor: Actor, ods_code: str) -> Organisation:
        return organisation_get(actor=actor, ods_code=ods_code.strip())

    def ra(self, code: str) -> RegistrationAuthority:
        ra = ra_list().filter(code=code.strip().upper()).first()
        if ra is None:
            raise NotFound(f"No active Registration Authority with code {code.strip().upper()}.")
        return ra


# Plain descriptions for text and JSON output.


def person_data(person: Person) -> dict[str, Any]:
    return {
        "user_id": person.user_id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "date_of_birth": person.date_of_birth,
        "email": person.email,
        "email_verified": person.email_verified_at is not None,
        "mobile": person.mobile,
        "mobile_verified": person.mobile_verified_at is not None,
        "professional_body": person.professional_body,
        "professional_number": person.professional_number,
        "assurance_level": person.get_assurance_level_display(),
        "status": person.status,
        "kind": person.kind,
        "registered_ra": person.registered_ra.code if person.registered_ra else None,
    }


def organisation_data(org: Organisation) -> dict[str, Any]:
    return {
        "ods_code": org.ods_code,
        "name": org.name,
        "type": org.org_type,
        "parent": org.parent.ods_code if org.parent else None,
        "serving_ra": org.serving_ra.code,
        "status": org.status,
    }


def position_data(position: Position) -> dict[str, Any]:
    return {
        "id": position.pk,
        "name": position.name,
        "organisation": position.organisation.ods_code,
        "job_roles": sorted(r.code for r in position.job_roles.all()),
        "activities": sorted(a.code for a in position.activities.all()),
        "workgroups": position.workgroups,
        "assignable": position.assignable,
        "status": position.status,
    }


def assignment_data(assignment: PositionAssignment) -> dict[str, Any]:
    return {
        "id": assignment.pk,
        "person": assignment.person.user_id,
        "position_id": assignment.position_id,
        "position": assignment.position.name,
        "organisation": assignment.position.organisation.ods_code,
        "start_date": assignment.start_date,
        "end_date": assignment.end_date,
    }


def assignment_line(assignment: PositionAssignment) -> str:
    org = assignment.position.organisation
    until = f" to {assignment.end_date}" if assignment.end_date else ""
    return (
        f"#{assignment.pk} {assignment.position.name} at {org.name} ({org.ods_code}), "
        f"from {assignment.start_date}{until}"
    )


def grant_data(grant: RightGrant) -> dict[str, Any]:
    return {
        "id": grant.pk,
        "person": grant.person.user_id,
        "right": grant.right,
        "organisation": grant.organisation.ods_code if grant.organisation else None,
        "include_children": grant.include_children,
        "ra": grant.ra.code if grant.ra else None,
        "scope": grant.scope_label,
        "start_date": grant.start_date,
        "end_date": grant.end_date,
        "revoked": grant.revoked_at is not None,
    }


def grant_line(grant: RightGrant) -> str:
    revoked = " (revoked)" if grant.revoked_at else ""
    return f"#{grant.pk} {grant.get_right_display()}: {grant.scope_label}{revoked}"
