"""The scheduled jobs, in the order `cis jobs run` runs them, and what each reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

from cis.audit import checkpoints
from cis.core import clock
from cis.imports.services import import_process_queued
from cis.oidc.backchannel import deliver_pending as deliver_logouts
from cis.oidc.housekeeping import purge
from cis.people.services import access_expire
from cis.pki.jobs import presign_ocsp, publish_crl
from cis.signin.services import sessions_end_expired
from cis.workflow import schedule
from cis.workflow.notifications import deliver_pending

from .models import JobStat
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


def _logouts() -> str:
    ended = sessions_end_expired()
    result = deliver_logouts()
    done = f"{result.sent} logout token(s) sent"
    if ended:
        done = f"{ended} expired sign-in session(s) ended, {done}"
    if result.dropped:
        done += f", {result.dropped} dropped (the client no longer asks)"
    if result.failed:
        raise JobIncomplete(f"{done}, {result.failed} failed (retried later)")
    return done


def _access() -> str:
    return f"{access_expire()} RPA or temporary profile(s) closed at their end date"


def _imports() -> str:
    return f"{import_process_queued()} import(s) processed"


def _checkpoint() -> str:
    made = checkpoints.write()
    return f"checkpoint #{made.number} of {made.events} event(s)"


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "end-expired-access",
            "Close RPA and temporary-access profiles past their end date.",
            _access,
        ),
        Job("run-imports", "Process queued ODS and ESR imports, oldest first.", _imports),
        Job("publish-crl", "Publish a fresh CRL when the last is a day old.", publish_crl),
        Job(
            "presign-ocsp",
            "Sign OCSP answers ahead of time, where missing or due for refresh.",
            presign_ocsp,
        ),
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
        Job(
            "backchannel-logout",
            "End sign-ins past their time; tell clinical systems of ended sign-ins "
            "(OIDC back-channel logout), each once.",
            _logouts,
        ),
        # Last, so that whatever the jobs above queued goes out in the same run.
        Job("send-notifications", "Send queued emails, each exactly once.", _send),
        # After every job that changes something, so that the checkpoint covers their events.
        Job(
            "audit-checkpoint",
            "Sign every audit chain's head into the checkpoint file outside the database.",
            _checkpoint,
        ),
    )
}


def job_run_count(job: str, result: str, detail: str = "") -> None:
    """Add one run of `job` that ended with `result` to its row (made on the first run; two
    machines counting at once both count)."""
    now, detail = clock.now(), detail[:500]
    changes = {"runs": F("runs") + 1, "last_at": now, "last_detail": detail}
    if JobStat.objects.filter(job=job, result=result).update(**changes):
        return
    try:
        with transaction.atomic():
            JobStat.objects.create(job=job, result=result, runs=1, last_at=now, last_detail=detail)
    except IntegrityError:  # another machine made the row first
        JobStat.objects.filter(job=job, result=result).update(**changes)
