"""The emails the workflow owes people: written to the ledger with the event, sent by a job.

Each email is a Notification row unique per (event, recipient), inserted in the transaction that
makes the event, so it exists exactly when the event does and never twice. `deliver_pending`
claims one unsent row at a time with SELECT ... FOR UPDATE SKIP LOCKED, so two machines running
the job at the same moment each send different rows, and a row is marked sent in the transaction
that claimed and sent it: a crash re-sends at most the one email in flight.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q

from cis.core import clock
from cis.people.models import Person, PersonStatus
from cis.rights.models import Right, RightGrant

from .models import Notification, Request, RequestEvent
from .states import EscalationLevel, RequestState

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RA_QUEUE_RIGHTS = (Right.RA_AGENT, Right.RA_AGENT_ADVANCED, Right.RA_MANAGER)


def request_url(request: Request) -> str:
    return f"{settings.CIS_BASE_URL}/requests/{request.pk}/"


def enqueue(
    *,
    event_key: str,
    recipients: Iterable[str],
    subject: str,
    body: str,
    request: Request | None = None,
) -> int:
    """Write one ledger row per recipient; a row already there for this event is left alone."""
    now = clock.now()
    rows = [
        Notification(
            event_key=event_key,
            recipient=address,
            subject=subject[:200],
            body=body,
            request=request,
            created_at=now,
        )
        for address in sorted({a for a in recipients if a})
    ]
    before = Notification.objects.filter(event_key=event_key).count()
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return Notification.objects.filter(event_key=event_key).count() - before


def _holders_of(rights: Iterable[str], *, ra_id: int | None) -> list[str]:
    today = clock.today()
    grants = RightGrant.objects.filter(
        right__in=list(rights), revoked_at__isnull=True, start_date__lte=today
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
    grants = grants.filter(ra_id=ra_id) if ra_id is not None else grants.filter(ra__isnull=True)
    return list(
        Person.objects.filter(pk__in=grants.values("person_id"), status=PersonStatus.ACTIVE)
        .exclude(email="")
        .values_list("email", flat=True)
    )


def _email_of(person: Person | None) -> str:
    if person is None or person.status == PersonStatus.CLOSED:
        return ""
    return person.email


def _describe(request: Request) -> str:
    where = (
        f" at {request.organisation.name} ({request.organisation.ods_code})"
        if (request.organisation)
        else ""
    )
    return f"{request.get_request_type_display()} for {request.subject_label}{where}"


def request_raised(request: Request) -> None:
    """Tell the RA's queue (its Agents and Managers) about a new request."""
    raiser = request.raised_by.full_name if request.raised_by else "the server console"
    body = (
        f"A new request is waiting in the RA queue.\n\n"
        f"{request.ref}: {_describe(request)}\n"
        f"Raised by {raiser}.\n"
        f"Due by {when(request.due_at)}.\n\n"
        f"Review it: {request_url(request)}\n"
    )
    recipients = set(_holders_of(RA_QUEUE_RIGHTS, ra_id=request.ra_id))
    recipients.discard(_email_of(request.raised_by))
    enqueue(
        event_key=f"request:{request.pk}:raised",
        recipients=recipients,
        subject=f"New request {request.ref}: {request.get_request_type_display()}",
        body=body,
        request=request,
    )


def request_decided(request: Request, *, extra: Iterable[str] = ()) -> None:
    """Tell the requester (and whoever escalated it) what was decided."""
    state = RequestState(request.state)
    by = request.decided_by.full_name if request.decided_by else "CIS"
    lines = [f"{request.ref}: {_describe(request)}", f"It has been {state.label.lower()} by {by}."]
    if request.decision_reason:
        lines.append(f"Reason: {request.decision_reason}")
    if state == RequestState.APPROVED:
        lines.append(
            "The card will be issued (or the certificate renewed) at an RA workstation with the "
            "holder present; this request closes when it is."
        )
    recipients = {_email_of(request.raised_by), *extra}
    recipients |= {_email_of(e.raised_by) for e in request.escalations.all()}
    enqueue(
        event_key=f"request:{request.pk}:{state.value}",
        recipients=recipients,
        subject=f"Request {request.ref} {state.label.lower()}",
        body="\n".join(lines) + f"\n\nSee it: {request_url(request)}\n",
        request=request,
    )


def request_escalated(request: Request, *, level: int, reason: str) -> None:
    """Tell the level it went to, and the requester, that a request has been escalated."""
    to = EscalationLevel(level)
    if to == EscalationLevel.RA_MANAGER:
        receivers = _holders_of([Right.RA_MANAGER], ra_id=request.ra_id)
    else:
        receivers = _holders_of([Right.SERVICE_DESK], ra_id=None)
    body = (
        f"{request.ref}: {_describe(request)}\n"
        f"has been escalated to the {to.label}.\n"
        f"Why: {reason}\n"
        f"Raised {when(request.raised_at)}; now due by {when(request.due_at)}.\n\n"
        f"Follow it: {request_url(request)}\n"
    )
    followers = {_email_of(request.raised_by), _email_of(request.subject)}
    followers |= {_email_of(e.raised_by) for e in request.escalations.all()}
    enqueue(
        event_key=f"request:{request.pk}:escalated:{level}",
        recipients=set(receivers) | followers,
        subject=f"Request {request.ref} escalated to the {to.label}",
        body=body,
        request=request,
    )


def request_commented(request: Request, *, event: RequestEvent) -> None:
    """Tell the raiser, the subject and whoever the request is assigned to about a comment."""
    recipients = {
        _email_of(request.raised_by),
        _email_of(request.subject),
        _email_of(request.assigned_to),
    }
    recipients.discard(_email_of(event.actor))
    enqueue(
        event_key=f"request:{request.pk}:comment:{event.pk}",
        recipients=recipients,
        subject=f"New comment on request {request.ref}",
        body=(
            f"{request.ref}: {_describe(request)}\n"
            f"{event.actor_name} wrote:\n\n{event.note}\n\n"
            f"Reply or follow it: {request_url(request)}\n"
        ),
        request=request,
    )


def request_reassigned(request: Request, *, agent: Person, note: str) -> None:
    """Tell the RA Agent it was handed to, and the requester, who now has the request."""
    body = (
        f"{request.ref}: {_describe(request)}\n"
        f"has been handed to {agent.full_name}, RA Agent, to decide.\n"
        + (f"Note: {note}\n" if note else "")
        + f"Due by {when(request.due_at)}.\n\nSee it: {request_url(request)}\n"
    )
    count = request.history.filter(kind="reassigned").count()
    enqueue(
        event_key=f"request:{request.pk}:reassigned:{count}",
        recipients={_email_of(agent), _email_of(request.raised_by)},
        subject=f"Request {request.ref} handed to {agent.full_name}",
        body=body,
        request=request,
    )


def when(at: dt.datetime) -> str:
    from .due import LONDON  # noqa: PLC0415 - a small module, kept out of import time

    return at.astimezone(LONDON).strftime("%A %d %B %Y at %H:%M")


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0


def deliver_pending(*, limit: int = 500) -> Delivery:
    """Send unsent emails, each exactly once even with several senders running at once.

    Each email is claimed, sent and marked sent in a transaction of its own, so a sender killed
    mid-run (kill -9, a power cut) leaves at most the one email it was sending unmarked: that one
    may go out twice, never a batch. One SMTP connection serves the whole run.
    """
    result = Delivery()
    tried: set[int] = set()
    connection = None
    try:
        while result.sent + result.failed < limit:
            with transaction.atomic():
                row = (
                    Notification.objects.select_for_update(skip_locked=True)
                    .filter(sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
                    .exclude(pk__in=tried)
                    .order_by("created_at", "id")
                    .first()
                )
                if row is None:
                    break
                tried.add(row.pk)
                if connection is None:
                    connection = get_connection(fail_silently=False)
                _send_one(row, connection, result)
    finally:
        if connection is not None:
            connection.close()
    return result


def _send_one(row: Notification, connection: object, result: Delivery) -> None:
    message = EmailMessage(
        subject=row.subject,
        body=row.body,
        to=[row.recipient],
        connection=connection,
        headers={"X-CIS-Event": row.event_key},
    )
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - any mail failure is recorded and retried later
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:500]
        row.save(update_fields=["attempts", "last_error"])
        result.failed += 1
        log.warning("email %s to %s failed: %s", row.event_key, row.recipient, row.last_error)
        return
    row.attempts += 1
    row.sent_at = clock.now()
    row.save(update_fields=["attempts", "sent_at"])
    result.sent += 1
