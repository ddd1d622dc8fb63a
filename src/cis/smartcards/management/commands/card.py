"""`cis card`: card steps the server's console operator takes (the first cards, the demo's)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cis.core.errors import DomainError
from cis.people.models import Person
from cis.smartcards.provisioning import provision_spec


def _passcode(*, from_stdin: bool) -> str:
    """The holder's passcode: one line of standard input, or asked for on the terminal."""
    if from_stdin:
        passcode = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        raise CommandError(
            "No terminal to ask for the holder's passcode on: give --passcode-stdin and write "
            "the passcode on standard input."
        )
    else:
        import getpass  # noqa: PLC0415 - only for an interactive console

        try:
            passcode = getpass.getpass("Holder's passcode: ")
        except (EOFError, KeyboardInterrupt):
            raise CommandError("No passcode given; nothing was issued.") from None
    if not passcode:
        raise CommandError("No passcode given; nothing was issued.")
    return passcode


class Command(BaseCommand):
    help = "Issue a card from the server console: `cis card issue --person USER_ID --card SPEC`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="step", required=True)
        issue = sub.add_parser(
            "issue",
            help="Issue a blank card (a virtual card file is made if missing) to a person.",
        )
        issue.add_argument("--person", required=True, metavar="USER_ID")
        issue.add_argument("--card", required=True, metavar="SPEC")
        issue.add_argument(
            "--passcode-stdin", action="store_true", help="read the holder's passcode from stdin"
        )
        issue.add_argument("--transport-pin", default="12345678", help="a blank card's SO PIN")

    def handle(self, *args: Any, **options: Any) -> None:
        person = Person.objects.filter(user_id=options["person"]).first()
        if person is None:
            raise CommandError(f"No person with user id {options['person']}.")
        passcode = _passcode(from_stdin=options["passcode_stdin"])
        try:
            spec = provision_spec(
                holder=person,
                spec=options["card"],
                passcode=passcode,
                transport_so_pin=options["transport_pin"],
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{spec} issued to {person.full_name} ({person.user_id}).")
