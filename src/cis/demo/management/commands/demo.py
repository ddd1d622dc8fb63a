"""`cis demo`: migrate, create the CA, build the demo world, write the personas file, serve."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import NoReverseMatch, reverse

from cis.demo import cast
from cis.demo.cards import ensure_demo_cards
from cis.demo.personas import persona_records, write_personas
from cis.demo.world import build_world
from cis.workflow.demo import build_demo_requests

HOST = "127.0.0.1"


class Command(BaseCommand):
    help = (
        "Prepare the demo on this machine: database, certificate authority, demo world and "
        "personas, then serve the portal at http://127.0.0.1:8000 (unless --no-serve)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="prepare everything, then stop")
        parser.add_argument("--port", type=int, default=8000, help="port to serve on (8000)")

    def handle(self, *args: Any, **options: Any) -> None:
        self.say("Preparing the database ...")
        call_command("migrate", interactive=False, verbosity=0)
        self._certificate_authority()
        self.say("Building the demo world ...")
        report = build_world()
        self.say(report.summary())
        requests = build_demo_requests()
        if requests:
            self.say(f"Added {requests} requests to the RA's queue (open, escalated and closed).")
        records = persona_records()
        path = write_personas(records)
        cards = ensure_demo_cards(records)
        if cards:
            self.say(f"Issued the demo's cards: {', '.join(cards)}.")
        url = f"http://{HOST}:{options['port']}/"
        if options["no_serve"]:
            self.stdout.write(self._banner(url, path, records, serving=False))
            return
        self.say("Collecting static files ...")
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(self._banner(url, path, records, serving=True))
        self._prescribing_example(url, options["port"] + 1)
        call_command("serve", host=HOST, port=options["port"], skip_collectstatic=True)

    def _prescribing_example(self, cis_url: str, port: int) -> None:
        """The sample relying party beside the portal, to show sign-in to a clinical system."""
        example = settings.PROJECT_DIR / "examples" / "prescribing"
        if not example.is_dir():
            return
        env = {**os.environ, "CIS_DATA_DIR": str(settings.DATA_DIR)}
        process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "examples.prescribing", "--server", cis_url.rstrip("/"),
             "--port", str(port)],
            cwd=settings.PROJECT_DIR,
            env=env,
        )  # fmt: skip
        atexit.register(process.terminate)
        self.say(
            f"Sample clinical system (prescribing): http://{HOST}:{port}/ signs in through CIS; "
            "choose a persona first, then 'Sign in with CIS' there."
        )

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def _certificate_authority(self) -> None:
        """`cis ca init`: idempotent, so a second demo run keeps the CA it made the first time."""
        self.say("Creating the certificate authority ...")
        try:
            call_command("ca", "init", stdout=self.stdout, stderr=self.stderr)
        except CommandError as exc:
            # An existing CA is the usual reason on a second run; say so and carry on.
            self.say(f"Certificate authority: {exc}")

    def _banner(self, url: str, path: Any, records: list[dict[str, Any]], serving: bool) -> str:
        width = max(len(r["name"]) for r in records)
        role_width = max(len(r["role"]) for r in records)
        lines = [
            "",
            "Care Identity Service: demo",
            "===========================",
            f"Portal:         {url}",
            f"Personas file:  {path}",
            f"Data directory: {settings.DATA_DIR}",
            "",
            f"Sign in: open {url.rstrip('/')}{_persona_sign_in_path()} and pick one of:",
        ]
        lines += [
            f"  {r['name']:<{width}}  {r['role']:<{role_width}}  user id {r['user_id']}"
            for r in records
        ]
        lines += [
            "",
            f"Each persona's card passcode is {cast.DEMO_PASSCODE}; their card SPECs for "
            "`cis-agent --card` are in the personas file. Blank cards for issuing at the RA "
            f"workstation: {Path(settings.DATA_DIR).resolve() / 'cards'}/blank-N.card.",
            "",
            "Journeys, and who to sign in as:",
        ]
        for journey in cast.JOURNEYS:
            lines += [f"  {journey.title}: {journey.who}", f"    {journey.how}"]
        if serving:
            lines += ["Press Ctrl+C to stop the server.", ""]
        else:
            lines += [
                "Not serving (--no-serve). To serve the demo: `cis demo` again (it adds nothing",
                "twice), or `DJANGO_SETTINGS_MODULE=cis.config.settings.demo cis serve`.",
                "",
            ]
        return "\n".join(lines)


def _persona_sign_in_path() -> str:
    """The portal's persona sign-in page, or its home page if the portal has none."""
    try:
        return reverse("portal:persona-sign-in")
    except NoReverseMatch:
        return "/"
