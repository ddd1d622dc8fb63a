"""`cis jobs run [--only NAME]`: the scheduled work, safe to run on several machines at once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cis.core import context
from cis.jobs.models import JobResult
from cis.jobs.registry import JOBS, JobIncomplete, job_run_count


class Command(BaseCommand):
    help = "Run the scheduled jobs (escalation, expiry, reminders, email). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        run = sub.add_parser("run", help="Run every job, or the ones named with --only.")
        run.add_argument(
            "--only",
            action="append",
            metavar="NAME",
            choices=list(JOBS),
            help=f"Run only this job (repeatable): {', '.join(JOBS)}.",
        )
        sub.add_parser("list", help="List the jobs in the order they run.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "list":
            for job in JOBS.values():
                self.stdout.write(f"{job.name}: {job.help}")
            return
        wanted = options.get("only") or list(JOBS)
        failures = []
        for name in JOBS:
            if name not in wanted:
                continue
            try:
                # Each job runs under its own context, as a request does: its audit events share
                # one correlation id, and a refusal inside it is audited once it ends.
                with context.working(context.RequestContext(channel="job")):
                    outcome = JOBS[name].run()
            except JobIncomplete as exc:
                failures.append(name)
                self.stderr.write(f"{name}: {exc}")
                job_run_count(name, JobResult.INCOMPLETE, str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
                failures.append(name)
                self.stderr.write(f"{name}: failed: {type(exc).__name__}: {exc}")
                job_run_count(name, JobResult.FAILED, type(exc).__name__)
                continue
            self.stdout.write(f"{name}: {outcome}")
            job_run_count(name, JobResult.OK, outcome)
        if failures:
            raise CommandError(f"{len(failures)} job(s) failed: {', '.join(failures)}")
