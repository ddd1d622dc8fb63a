"""`cis oidc add-client|rotate-key`: register a relying party; rotate the ID-token signing key."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cis.authz.policy import CONSOLE
from cis.core.errors import DomainError
from cis.oidc import keys
from cis.oidc.clients import oidc_client_add
from cis.oidc.housekeeping import purge


class Command(BaseCommand):
    help = "The OpenID Connect provider: add a client, rotate the signing key."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        add = sub.add_parser("add-client", help="Register a clinical system (a relying party).")
        add.add_argument("--name", required=True, help="The clinical system's name.")
        add.add_argument(
            "--redirect-uri",
            required=True,
            action="append",
            dest="redirect_uris",
            help="Exact redirect URI (repeat for more than one).",
        )
        add.add_argument(
            "--post-logout-redirect-uri",
            action="append",
            dest="logout_uris",
            default=[],
            help="Where RP-initiated logout may return (repeatable).",
        )
        sub.add_parser("rotate-key", help="Make a new ES256 signing key; keep the last in JWKS.")
        sub.add_parser(
            "purge", help="Remove dead challenges, links, codes and expired tokens (idempotent)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["subcommand"] == "add-client":
                created = oidc_client_add(
                    actor=CONSOLE,
                    name=options["name"],
                    redirect_uris=options["redirect_uris"],
                    post_logout_redirect_uris=options["logout_uris"],
                )
                self.stdout.write(
                    json.dumps(
                        {
                            "client_id": created.application.client_id,
                            "client_secret": created.client_secret,
                            "name": created.application.name,
                            "redirect_uris": created.application.redirect_uris.split(),
                        }
                    )
                )
            elif options["subcommand"] == "purge":
                removed = purge()
                self.stdout.write(", ".join(f"{n} {what}" for what, n in removed.items()))
            else:
                keys.generate_key()
                self.stdout.write(f"New signing key {keys.signing_key().kid}")
        except DomainError as exc:
            raise CommandError(exc.message) from exc
