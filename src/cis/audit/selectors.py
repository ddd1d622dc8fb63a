"""Reads of the audit trail, through the policy: the viewer's search and a target's history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from cis.authz.actions import Action
from cis.authz.policy import Actor, can
from cis.authz.scoping import visible

from .models import AuditEvent


def events_about(
    *, actor: Actor, target_type: str, target_ref: str, subject: Any = None
) -> QuerySet[AuditEvent]:
    """Events about one target. With a subject (a person, an organisation) the policy decides
    on that subject, so a person's events show to whoever may audit that person."""
    rows = AuditEvent.objects.filter(target_type=target_type, target_ref=target_ref)
    if subject is not None:
        if not can(actor, Action.AUDIT_VIEW, subject):
            return rows.none()
    else:
        rows = visible(actor, Action.AUDIT_VIEW, rows)
    return rows.order_by("-id")


@dataclass(frozen=True)
class AuditFilter:
    """What the audit viewer narrows by; every part optional."""

    person: str = ""  # a user id: events about them, or by them
    actor: str = ""  # a user id (or "console", "system"): events by them
    action: str = ""  # an action ("card.unlock_assisted") or its area ("card")
    organisation: str = ""  # an ODS code
    since: dt.date | None = None  # from the start of this day (UK time)
    until: dt.date | None = None  # to the end of this day


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_search(*, actor: Actor, filters: AuditFilter | None = None) -> QuerySet[AuditEvent]:
    """Events the actor may read (RA Managers their area, the service desk everything), newest
    first, narrowed by the filters."""
    f = filters or AuditFilter()
    rows = visible(actor, Action.AUDIT_VIEW, AuditEvent.objects.all())
    if f.person:
        rows = rows.filter(Q(subject_ref=f.person.strip()) | Q(actor_ref=f.person.strip()))
    if f.actor:
        rows = rows.filter(actor_ref=f.actor.strip())
    if f.action:
        action = f.action.strip().lower()
        rows = (
            rows.filter(action=action)
            if "." in action
            else rows.filter(action__startswith=f"{action}.")
        )
    if f.organisation:
        rows = rows.filter(organisation_ref=f.organisation.strip().upper())
    if f.since is not None:
        rows = rows.filter(at__gte=_day_start(f.since))
    if f.until is not None:
        rows = rows.filter(at__lt=_day_start(f.until + dt.timedelta(days=1)))
    return rows.order_by("-id")


def may_view_audit(*, actor: Actor | None) -> bool:
    """Whether to offer the audit viewer at all (menus and home pages)."""
    return can(actor, Action.AUDIT_VIEW)
