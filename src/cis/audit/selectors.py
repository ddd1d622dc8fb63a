"""Reads of the audit trail, through the policy."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

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
