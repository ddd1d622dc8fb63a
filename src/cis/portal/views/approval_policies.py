"""Approval policies: what each type of request needs (RA staff read; the service desk sets)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.urls import URLPattern, URLResolver, path, reverse

from cis.authz.actions import Action
from cis.authz.policy import can, require
from cis.portal.forms.approval_policies import ApprovalPolicyForm
from cis.workflow.approval_policy import (
    PolicyInForce,
    approval_policy_list,
    approval_policy_set,
    policy_for,
)
from cis.workflow.states import RequestType

from .base import PortalPage, ServiceFormView


class ApprovalPolicyListView(PortalPage):
    template_name = "portal/approval_policies/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            policies=approval_policy_list(actor=self.actor),
            may_manage=can(self.actor, Action.APPROVAL_POLICY_MANAGE),
        )
        return context


class ApprovalPolicyUpdateView(ServiceFormView[ApprovalPolicyForm]):
    form_class = ApprovalPolicyForm
    submit_label = "Save the policy"

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        if kwargs["request_type"] not in RequestType.values:
            raise Http404("No such type of request.")
        self.request_type = kwargs["request_type"]

    def check_may_act(self) -> None:
        require(self.actor, Action.APPROVAL_POLICY_MANAGE)

    def get_initial(self) -> dict[str, Any]:
        current = policy_for(self.request_type)
        return {
            "approvals_needed": current.approvals_needed,
            "approver_rights": current.approver_rights,
        }

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("heading", f"Approvals for: {RequestType(self.request_type).label}")
        kwargs.setdefault("caption", "Approval policy")
        return super().get_context_data(**kwargs)

    def back_url(self) -> str:
        return reverse("portal:approval-policies")

    def perform(self, form: ApprovalPolicyForm) -> PolicyInForce:
        return approval_policy_set(
            actor=self.actor,
            request_type=self.request_type,
            approvals_needed=form.cleaned_data["approvals_needed"],
            approver_rights=form.cleaned_data["approver_rights"],
        )

    def success_message(self, result: PolicyInForce) -> str:
        return (
            f"{result.label}: {result.approvals_needed} approver(s) from now on "
            f"({result.approvers_label}). Requests already raised keep what they needed."
        )

    def success_url_for(self, result: PolicyInForce) -> str:
        return self.back_url()


routes: list[URLPattern | URLResolver] = [
    path("approval-policies/", ApprovalPolicyListView.as_view(), name="approval-policies"),
    path(
        "approval-policies/<str:request_type>/change/",
        ApprovalPolicyUpdateView.as_view(),
        name="approval-policy-update",
    ),
]
