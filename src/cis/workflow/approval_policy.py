"""Approvals by policy: per type of request, how many different people approve, with which rights.

The service desk sets it (portal, API, CLI), each change audited; a request takes the policy in
force when it is raised, so changing the policy never changes what an open request needs. Who may
approve is then decided by the one policy in `cis.authz` (the approver must hold one of the listed
rights, or a right that includes it, over the request), as for every other action.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.core import clock
from cis.core.errors import ValidationFailed
from cis.rights.models import Right

from .models import ApprovalPolicy
from .states import RIGHT_TYPES, RequestType

MAX_APPROVERS = 5
# Rights that can decide requests at all (the policy's NEEDS for request.approve and up).
APPROVER_RIGHTS = (Right.RA_AGENT, Right.RA_AGENT_ADVANCED, Right.RA_MANAGER, Right.SERVICE_DESK)


@dataclass(frozen=True)
class PolicyInForce:
    request_type: str
    approvals_needed: int
    approver_rights: list[str]
    changed_at: Any = None
    changed_by_name: str = ""

    @property
    def label(self) -> str:
        return RequestType(self.request_type).label

    @property
    def approvers_label(self) -> str:
        if not self.approver_rights:
            return "RA Managers" if self.request_type in RIGHT_TYPES else "RA Agents and above"
        return ", ".join(Right(r).label for r in self.approver_rights)


def policy_for(request_type: str) -> PolicyInForce:
    row = ApprovalPolicy.objects.filter(request_type=request_type).first()
    if row is None:
        return PolicyInForce(request_type, 1, [])
    return PolicyInForce(
        request_type,
        row.approvals_needed,
        list(row.approver_rights),
        row.changed_at,
        row.changed_by_name,
    )


def approval_policy_list(*, actor: Actor) -> list[PolicyInForce]:
    """Every type of request and its policy; RA staff see it to know what a request needs."""
    require(actor, Action.REQUEST_VIEW)
    rows = {p.request_type: p for p in ApprovalPolicy.objects.all()}
    found = []
    for request_type in RequestType.values:
        row = rows.get(request_type)
        found.append(
            PolicyInForce(
                request_type,
                row.approvals_needed if row else 1,
                list(row.approver_rights) if row else [],
                row.changed_at if row else None,
                row.changed_by_name if row else "",
            )
        )
    return found


@transaction.atomic
def approval_policy_set(
    *,
    actor: Actor,
    request_type: str,
    approvals_needed: int,
    approver_rights: Sequence[str] = (),
) -> PolicyInForce:
    """Set how many different approvers a type of request needs, and which rights they hold."""
    decision = require(actor, Action.APPROVAL_POLICY_MANAGE)
    if request_type not in RequestType.values:
        raise ValidationFailed(f"'{request_type}' is not a type of request.", field="request_type")
    if not 1 <= approvals_needed <= MAX_APPROVERS:
        raise ValidationFailed(
            f"A request needs from 1 to {MAX_APPROVERS} approvers.", field="approvals_needed"
        )
    rights = sorted({r.strip() for r in approver_rights if r.strip()})
    allowed = {r.value for r in APPROVER_RIGHTS}
    unknown = [r for r in rights if r not in allowed]
    if unknown:
        raise ValidationFailed(
            f"Not a right that can approve requests: {', '.join(unknown)}. Choose from "
            f"{', '.join(r.label for r in APPROVER_RIGHTS)}.",
            field="approver_rights",
        )
    if request_type in RIGHT_TYPES and rights and Right.RA_MANAGER.value not in rights:
        raise ValidationFailed(
            "Requests about CIS rights are decided by RA Managers: include RA Manager.",
            field="approver_rights",
        )
    before = policy_for(request_type)
    who_ref = getattr(actor, "audit_ref", None) or getattr(actor, "user_id", "")
    who_name = getattr(actor, "audit_name", None) or getattr(actor, "full_name", "")
    row, _ = ApprovalPolicy.objects.select_for_update().get_or_create(
        request_type=request_type,
        defaults={"changed_at": clock.now(), "changed_by_ref": "", "changed_by_name": ""},
    )
    if (row.approvals_needed, sorted(row.approver_rights)) == (approvals_needed, rights) and (
        row.changed_by_ref
    ):
        raise ValidationFailed("Nothing to change: that is the policy already.")
    row.approvals_needed = approvals_needed
    row.approver_rights = rights
    row.changed_at = clock.now()
    row.changed_by_ref = str(who_ref)[:40]
    row.changed_by_name = str(who_name)[:200]
    row.save()
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.APPROVAL_POLICY_MANAGE,
        target_type="approval_policy",
        target_ref=request_type,
        before={
            "approvals_needed": before.approvals_needed,
            "approver_rights": before.approver_rights,
        },
        after={"approvals_needed": approvals_needed, "approver_rights": rights},
    )
    return policy_for(request_type)
