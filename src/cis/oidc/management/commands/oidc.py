"""`cis oidc add-client|rotate-key`: register a relying party; rotate the ID-token signing key."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cis.authz.policy import CONSOLE
from cis.core.errors import DomainError
from cis.oidc import keys
from cis.oidc.clients import (
    client_settings,
    oidc_client_add,
    oidc_client_list,
    oidc_client_retire,
    oidc_client_rotate_secret,
    oidc_client_update,
    oidc_system_client_add,
)
from cis.oidc.constants import SIGNING_ALG, SIGNING_ALGS
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
        add.add_argument(
            "--id-token-signed-response-alg",
            choices=SIGNING_ALGS,
            default=SIGNING_ALG,
            help="How its ID tokens are signed (default ES256).",
        )
        add.add_argument(
            "--backchannel-logout-uri",
            default="",
            help="Where CIS posts a logout token when a sign-in session ends.",
        )
        add.add_argument(
            "--backchannel-logout-session-required",
            action="store_true",
            help="The client needs `sid` in its logout tokens (CIS always sends it).",
        )
        add.add_argument(
            "--require-pushed-authorization-requests",
            action="store_true",
            help="Refuse its authorization requests unless pushed first (PAR, RFC 9126).",
        )
        add.add_argument(
            "--require-signed-request-object",
            action="store_true",
            help="Refuse its authorization requests unless a signed request object (RFC 9101).",
        )
        add.add_argument(
            "--dpop-bound-access-tokens",
            action="store_true",
            help="Refuse its token requests without a DPoP proof (RFC 9449 §5.2).",
        )
        system = sub.add_parser(
            "add-system-client",
            help="Register a system that calls others as itself (client credentials, "
            "private_key_jwt).",
        )
        system.add_argument("--name", required=True)
        system.add_argument(
            "--jwks", required=True, metavar="FILE", help="Its public keys, a JWK set (JSON)."
        )
        update = sub.add_parser("update-client", help="Change a clinical system's settings.")
        update.add_argument("client_id")
        update.add_argument("--id-token-signed-response-alg", choices=SIGNING_ALGS)
        update.add_argument(
            "--backchannel-logout-uri", help="A new back-channel logout URI ('' removes it)."
        )
        update.add_argument(
            "--backchannel-logout-session-required",
            choices=("true", "false"),
            help="Whether the client needs `sid` in its logout tokens.",
        )
        update.add_argument(
            "--require-pushed-authorization-requests",
            choices=("true", "false"),
            help="Whether its authorization requests must be pushed first (PAR, RFC 9126).",
        )
        update.add_argument(
            "--require-signed-request-object",
            choices=("true", "false"),
            help="Whether its authorization requests must be signed request objects (RFC 9101).",
        )
        update.add_argument(
            "--dpop-bound-access-tokens",
            choices=("true", "false"),
            help="Whether its token requests must carry a DPoP proof (RFC 9449 §5.2).",
        )
        update.add_argument(
            "--jwks",
            metavar="FILE",
            help="Its public keys (a JWK set, JSON) for request objects and private_key_jwt.",
        )
        rotate = sub.add_parser(
            "rotate-key", help="Make new signing keys; the previous ones stay in the JWKS."
        )
        rotate.add_argument("--alg", choices=SIGNING_ALGS, help="Only this algorithm's key.")
        rotate_secret = sub.add_parser(
            "rotate-secret", help="Give a client a new secret (shown once)."
        )
        rotate_secret.add_argument("client_id")
        retire = sub.add_parser("retire-client", help="Retire a client, revoking its tokens.")
        retire.add_argument("client_id")
        retire.add_argument("--reason", required=True)
        sub.add_parser("list-clients", help="List the live clients.")
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
                    id_token_signed_response_alg=options["id_token_signed_response_alg"],
                    backchannel_logout_uri=options["backchannel_logout_uri"],
                    backchannel_logout_session_required=options[
                        "backchannel_logout_session_required"
                    ],
                    require_pushed_authorization_requests=options[
                        "require_pushed_authorization_requests"
                    ],
                    require_signed_request_object=options["require_signed_request_object"],
                    dpop_bound_access_tokens=options["dpop_bound_access_tokens"],
                )
                self.stdout.write(
                    json.dumps(
                        {
                            "client_id": created.application.client_id,
                            "client_secret": created.client_secret,
                            "name": created.application.name,
                            "redirect_uris": created.application.redirect_uris.split(),
                            **client_settings(created.application),
                        }
                    )
                )
            elif options["subcommand"] == "add-system-client":
                jwks = _read_jwks(options["jwks"])
                made = oidc_system_client_add(actor=CONSOLE, name=options["name"], jwks=jwks)
                self.stdout.write(
                    json.dumps(
                        {
                            "client_id": made.client_id,
                            "name": made.name,
                            "grant_types": ["client_credentials"],
                            "token_endpoint_auth_method": "private_key_jwt",
                        }
                    )
                )
            elif options["subcommand"] == "rotate-secret":
                made = oidc_client_rotate_secret(actor=CONSOLE, client_id=options["client_id"])
                self.stdout.write(
                    json.dumps(
                        {
                            "client_id": made.application.client_id,
                            "client_secret": made.client_secret,
                        }
                    )
                )
            elif options["subcommand"] == "retire-client":
                retired = oidc_client_retire(
                    actor=CONSOLE, client_id=options["client_id"], reason=options["reason"]
                )
                self.stdout.write(f"Retired {retired}.")
            elif options["subcommand"] == "list-clients":
                for app in oidc_client_list(actor=CONSOLE):
                    self.stdout.write(f"{app.client_id}\t{app.name}\t{app.redirect_uris}")
            elif options["subcommand"] == "purge":
                removed = purge()
                self.stdout.write(", ".join(f"{n} {what}" for what, n in removed.items()))
            elif options["subcommand"] == "update-client":
                client_jwks = _read_jwks(options["jwks"]) if options["jwks"] else None
                updated = oidc_client_update(
                    actor=CONSOLE,
                    client_id=options["client_id"],
                    id_token_signed_response_alg=options["id_token_signed_response_alg"],
                    backchannel_logout_uri=options["backchannel_logout_uri"],
                    backchannel_logout_session_required=(
                        None
                        if options["backchannel_logout_session_required"] is None
                        else options["backchannel_logout_session_required"] == "true"
                    ),
                    require_pushed_authorization_requests=_flag(
                        options["require_pushed_authorization_requests"]
                    ),
                    require_signed_request_object=_flag(options["require_signed_request_object"]),
                    dpop_bound_access_tokens=_flag(options["dpop_bound_access_tokens"]),
                    jwks=client_jwks,
                )
                self.stdout.write(json.dumps(client_settings(updated)))
            else:
                keys.generate_key(options["alg"])
                for alg in [options["alg"]] if options["alg"] else SIGNING_ALGS:
                    self.stdout.write(f"New {alg} signing key {keys.signing_key(alg).kid}")
        except DomainError as exc:
            raise CommandError(exc.message) from exc


def _flag(value: str | None) -> bool | None:
    """A true|false option; None when not given (the setting stays as it is)."""
    return None if value is None else value == "true"


def _read_jwks(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as given:
            return json.load(given)
    except (OSError, ValueError) as exc:
        raise CommandError(f"Cannot read the JWK set: {exc}") from exc
