"""Reads of the audit trail, through the policy's visible() filter."""

from __future__ import annotations

from django.db.models import QuerySet

from cis.authz.actions import Action
from cis.authz.policy import Actor
from cis.authz.scoping import visible

from .models import AuditEvent


def events_about(*, actor: Actor, target_type: str, target_ref: str) -> QuerySet[AuditEvent]:
    rows = visible(actor, Action.AUDIT_VIEW, AuditEvent.objects.all())
    return rows.filter(target_type=target_type, target_ref=target_ref).order_by("-seq")
