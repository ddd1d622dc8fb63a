"""The scheduled jobs, in the order `cis jobs run` runs them, and what each reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cis.oidc.housekeeping import purge
from cis.pki.jobs import publish_crl
from cis.workflow import schedule
from cis.workflow.notifications import deliver_pending

from .reminders import certificate_expiry_reminders


@dataclass(frozen=True)
class Job:
    name: str
    help: str
    run: Callable[[], str]


def _escalate() -> str:
    return f"{schedule.escalate_overdue()} request(s) escalated"


def _expire() -> str:
    return f"{schedule.expire_stale()} request(s) expired"


def _reminders() -> str:
    result = certificate_expiry_reminders()
    if result.skipped_reason:
        return f"skipped: {result.skipped_reason}"
    return f"{result.queued} reminder(s) queued"


class JobIncomplete(Exception):
    """The job did part of its work; the rest is retried on the next run."""


def _purge() -> str:
    removed = purge()
    return ", ".join(f"{count} {what}" for what, count in removed.items()) + " removed"


def _send() -> str:
    result = deliver_pending()
    if result.failed:
        raise JobIncomplete(
            f"{result.sent} email(s) sent, {result.failed} failed (retried on the next run)"
        )
    return f"{result.sent} email(s) sent"


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("publish-crl", "Publish a fresh CRL when the last is a day old.", publish_crl),
        Job("escalate-requests", "Escalate requests past their due time.", _escalate),
        Job("expire-requests", "Expire requests left open too long.", _expire),
        Job(
            "certificate-reminders",
            "Queue reminders 90, 30 and 7 days before a certificate expires.",
            _reminders,
        ),
        Job(
            "purge-sign-in",
            "Remove used or expired challenges, sign-in links, codes and tokens.",
            _purge,
        ),
        # Last, so that whatever the jobs above queued goes out in the same run.
        Job("send-notifications", "Send queued emails, each exactly once.", _send),
    )
}
