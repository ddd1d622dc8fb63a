"""The workflow's scheduled work: escalate overdue requests and expire forgotten ones.

Each pass claims due rows with SELECT ... FOR UPDATE SKIP LOCKED and re-checks them under the lock,
so two machines running it at once never escalate or expire the same request twice.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from cis.authz.actions import Action
from cis.core import clock

from . import notifications
from .models import Request
from .services import add_event, audit_request, close_escalations, escalate, snapshot
from .states import OPEN, EscalationLevel, EventKind, RequestState

RULE_ESCALATE = "schedule:request-overdue"
RULE_EXPIRE = "schedule:request-expired"
BATCH = 50


def _claim(**filters: object) -> list[Request]:
    return list(
        Request.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("subject", "organisation", "ra", "raised_by")
        .filter(state__in=list(OPEN), **filters)
        .order_by("due_at", "id")[:BATCH]
    )


def escalate_overdue(*, now: dt.datetime | None = None) -> int:
    """Escalate every open request past its due time, one level; returns how many."""
    at = now or clock.now()
    done = 0
    while True:
        with transaction.atomic():
            batch = _claim(due_at__lte=at, escalation_level__lt=EscalationLevel.SERVICE_DESK)
            for request in batch:
                before = snapshot(request)
                level = EscalationLevel(request.escalation_level + 1)
                who = "an RA Agent" if level == EscalationLevel.RA_MANAGER else "the RA Manager"
                escalate(
                    request,
                    actor=None,
                    reason=f"Not answered by {who} by its due time, "
                    f"{notifications.when(request.due_at)}.",
                )
                audit_request(None, RULE_ESCALATE, Action.REQUEST_ESCALATE, request, before)
                done += 1
        if len(batch) < BATCH:
            return done


def expire_stale(*, now: dt.datetime | None = None) -> int:
    """Expire requests left open longer than CIS_REQUEST_EXPIRE_DAYS; returns how many."""
    at = now or clock.now()
    cutoff = at - dt.timedelta(days=settings.CIS_REQUEST_EXPIRE_DAYS)
    done = 0
    while True:
        with transaction.atomic():
            batch = _claim(raised_at__lte=cutoff)
            for request in batch:
                before = snapshot(request)
                previous = request.state
                request.state = RequestState.EXPIRED
                request.closed_at = at
                request.decision_reason = (
                    f"Nobody acted on it within {settings.CIS_REQUEST_EXPIRE_DAYS} days."
                )
                request.save()
                add_event(
                    request,
                    EventKind.EXPIRED,
                    None,
                    from_state=previous,
                    note=request.decision_reason,
                )
                close_escalations(request)
                audit_request(None, RULE_EXPIRE, Action.REQUEST_EXPIRE, request, before)
                notifications.request_decided(request)
                done += 1
        if len(batch) < BATCH:
            return done
