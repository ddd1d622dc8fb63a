"""`cis person`: create, show, find, verify, confirm contacts, close and reopen people from the
server console."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from django.core.management.base import CommandParser

from cis.authz.policy import Actor
from cis.core import clock
from cis.core.errors import DomainError, ValidationFailed
from cis.people.management.console import (
    DirectoryCommand,
    assignment_data,
    assignment_line,
    codes_arg,
    date_arg,
    grant_data,
    grant_line,
    person_data,
)
from cis.people.models import Person, PersonKind
from cis.people.selectors import person_search
from cis.people.services import (
    CONFIRMED_HOW,
    DOCUMENT_TYPES,
    contact_confirm_in_person,
    person_close,
    person_create,
    person_extend_access,
    person_reopen,
    person_verify_identity,
)
from cis.rbac.selectors import assignment_list
from cis.rights.selectors import grant_list

Result = tuple[str, Any]


class Command(DirectoryCommand):
    help = "Manage people: add, show, find, verify, close, reopen."
    SUBCOMMANDS: ClassVar[dict[str, str]] = {
        "add": "Create a person (restricted until their identity is verified).",
        "show": "Show a person, their positions and their rights.",
        "find": "Find people by name, user id or email.",
        "verify": "Record a face-to-face identity check of three documents.",
        "confirm-contact": "Record an email or mobile confirmed in person (no code is sent).",
        "close": "Close a person's profile.",
        "reopen": "Reopen a closed profile.",
        "extend-access": "Renew an RPA or temporary-access profile to a new end date.",
    }

    def explain(self, exc: DomainError) -> str:
        if isinstance(exc, ValidationFailed) and exc.field == "documents":
            return f"{exc.message} Document types: {', '.join(DOCUMENT_TYPES)}."
        return super().explain(exc)

    def arguments_add(self, parser: CommandParser) -> None:
        parser.add_argument("--given", required=True, help="given name")
        parser.add_argument("--family", required=True, help="family name")
        parser.add_argument("--dob", required=True, type=date_arg, help="date of birth, YYYY-MM-DD")
        parser.add_argument("--ra", required=True, help="code of the RA that registers them")
        parser.add_argument("--email", default="", help="contact email (verified later)")
        parser.add_argument("--mobile", default="", help="UK mobile (verified later)")
        parser.add_argument("--professional-body", default="", help="e.g. GPhC, GMC, NMC")
        parser.add_argument("--professional-number", default="")
        parser.add_argument("--kind", choices=PersonKind.values, default=PersonKind.PERSON)
        parser.add_argument(
            "--access-ends",
            type=date_arg,
            default=None,
            help="rpa (at most 365 days ahead) and temporary (90): the last day it may act",
        )
        parser.add_argument(
            "--ack-duplicate",
            nargs="+",
            action="extend",
            default=[],
            metavar="USER_ID",
            help="user ids of probable duplicates you have checked are different people",
        )

    def do_add(self, actor: Actor, options: dict[str, Any]) -> Result:
        person = person_create(
            actor=actor,
            given_name=options["given"],
            family_name=options["family"],
            date_of_birth=options["dob"],
            registered_ra=self.ra(options["ra"]),
            email=options["email"],
            mobile=options["mobile"],
            professional_body=options["professional_body"],
            professional_number=options["professional_number"],
            kind=options["kind"],
            access_ends_on=options["access_ends"],
            acknowledged_duplicates=options["ack_duplicate"],
        )
        text = (
            f"Created {person.full_name}, user id {person.user_id}. "
            "The profile is restricted until their identity is verified "
            f"(cis person verify {person.user_id} --documents ...)."
        )
        return text, person_data(person)

    def arguments_show(self, parser: CommandParser) -> None:
        parser.add_argument("user_id")

    def do_show(self, actor: Actor, options: dict[str, Any]) -> Result:
        person = self.person(actor, options["user_id"])
        assignments = list(assignment_list(actor=actor, person=person).order_by("start_date", "id"))
        grants = list(grant_list(actor=actor, person=person).order_by("id"))
        data = {
            **person_data(person),
            "assignments": [assignment_data(a) for a in assignments],
            "rights": [grant_data(g) for g in grants],
        }
        return _describe(person, assignments, grants), data

    def arguments_find(self, parser: CommandParser) -> None:
        parser.add_argument("query", nargs="?", default="")
        parser.add_argument("--limit", type=int, default=50)

    def do_find(self, actor: Actor, options: dict[str, Any]) -> Result:
        people = list(person_search(actor=actor, query=options["query"], limit=options["limit"]))
        lines = [f"{p.user_id}  {p.full_name}  {p.get_status_display()}" for p in people]
        text = "\n".join(lines) if lines else "Nobody found."
        return text, [person_data(p) for p in people]

    def arguments_verify(self, parser: CommandParser) -> None:
        parser.add_argument("user_id")
        parser.add_argument(
            "--documents",
            required=True,
            type=codes_arg,
            help=f"three document types seen, comma-separated: {', '.join(DOCUMENT_TYPES)}",
        )
        parser.add_argument("--checked-on", type=date_arg, default=None, help="YYYY-MM-DD")
        parser.add_argument("--notes", default="")
        parser.add_argument(
            "--photo", default=None, metavar="FILE", help="a JPEG or PNG taken at the check"
        )

    def do_verify(self, actor: Actor, options: dict[str, Any]) -> Result:
        person = self.person(actor, options["user_id"])
        photo = None
        if options["photo"]:
            try:
                photo = Path(options["photo"]).read_bytes()
            except OSError as exc:
                raise ValidationFailed(
                    f"Cannot read the photo {options['photo']}: {exc.strerror}.", field="photo"
                ) from None
        check = person_verify_identity(
            actor=actor,
            person=person,
            document_types=options["documents"],
            checked_on=options["checked_on"],
            notes=options["notes"],
            photo=photo,
        )
        person.refresh_from_db()
        text = (
            f"Verified {person.full_name} ({person.user_id}) on {check.checked_on} from "
            f"{', '.join(check.document_types)}; the profile is {person.get_status_display()}."
        )
        return text, {**person_data(person), "documents": check.document_types}

    def arguments_confirm_contact(self, parser: CommandParser) -> None:
        parser.add_argument("user_id")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--email", help="the email address confirmed")
        which.add_argument("--mobile", help="the UK mobile number confirmed")
        parser.add_argument("--how", choices=CONFIRMED_HOW, default=CONFIRMED_HOW[0])

    def do_confirm_contact(self, actor: Actor, options: dict[str, Any]) -> Result:
        channel = "email" if options["email"] else "mobile"
        person = contact_confirm_in_person(
            actor=actor,
            person=self.person(actor, options["user_id"]),
            channel=channel,
            value=options[channel],
            how=options["how"],
        )
        value = person.email if channel == "email" else person.mobile
        text = f"Recorded {person}'s {channel} {value} as verified ({options['how']})."
        return text, person_data(person)

    def arguments_close(self, parser: CommandParser) -> None:
        parser.add_argument("user_id")
        parser.add_argument("--reason", required=True)

    def do_close(self, actor: Actor, options: dict[str, Any]) -> Result:
        person = person_close(
            actor=actor, person=self.person(actor, options["user_id"]), reason=options["reason"]
        )
        return f"Closed the profile of {person}.", person_data(person)

    def arguments_reopen(self, parser: CommandParser) -> None:
        parser.add_argument("user_id")

    def do_reopen(self, actor: Actor, options: dict[str, Any]) -> Result:
        person = person_reopen(actor=actor, person=self.person(actor, options["user_id"]))
        text = f"Reopened the profile of {person}: {person.get_status_display()}."
        return text, person_data(person)

    def arguments_extend_access(self, parser: CommandParser) -> None:
        parser.add_argument("user_id")
        parser.add_argument("--until", required=True, type=date_arg, help="the new last day")

    def do_extend_access(self, actor: Actor, options: dict[str, Any]) -> Result:
        person = person_extend_access(
            actor=actor, person=self.person(actor, options["user_id"]), ends_on=options["until"]
        )
        return f"{person}'s access now ends on {person.access_ends_on}.", person_data(person)


def _contact(value: str, verified: bool) -> str:
    if not value:
        return "none"
    return f"{value} ({'verified' if verified else 'not verified'})"


def _describe(person: Person, assignments: list[Any], grants: list[Any]) -> str:
    today = clock.today()
    registration = f"{person.professional_body} {person.professional_number}".strip()
    lines = [
        f"{person.full_name} ({person.user_id})",
        f"  Status:         {person.get_status_display()}",
        f"  Kind:           {person.get_kind_display()}",
        f"  Date of birth:  {person.date_of_birth}",
        f"  Email:          {_contact(person.email, person.email_verified_at is not None)}",
        f"  Mobile:         {_contact(person.mobile, person.mobile_verified_at is not None)}",
        f"  Registration:   {registration or 'none'}",
        f"  Assurance:      {person.get_assurance_level_display()}",
        f"  Registered RA:  {person.registered_ra or 'none'}",
        "Positions:",
    ]
    current = [a for a in assignments if a.end_date is None or a.end_date >= today]
    lines += [f"  {assignment_line(a)}" for a in current] or ["  none"]
    lines.append("Rights:")
    lines += [f"  {grant_line(g)}" for g in grants] or ["  none"]
    return "\n".join(lines)
