"""The service desk's form for a type of request's approval policy (n of m)."""

from __future__ import annotations

from django import forms

from cis.workflow.approval_policy import APPROVER_RIGHTS, MAX_APPROVERS

from .base import PortalForm


class ApprovalPolicyForm(PortalForm):
    approvals_needed = forms.TypedChoiceField(
        label="How many different people must approve it?",
        choices=[(n, str(n)) for n in range(1, MAX_APPROVERS + 1)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how many approvers it needs."},
    )
    approver_rights = forms.MultipleChoiceField(
        label="Who may approve it?",
        choices=[(r.value, r.label) for r in APPROVER_RIGHTS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="People holding one of these rights over the request (or a right above it). "
        "Choose none to leave it to RA Agents and above.",
    )
