"""Approval policies over the API: read by RA staff, set per type of request by the service desk."""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from cis.core.errors import NotFound
from cis.workflow.approval_policy import (
    APPROVER_RIGHTS,
    MAX_APPROVERS,
    PolicyInForce,
    approval_policy_list,
    approval_policy_set,
)
from cis.workflow.states import RequestType

from .conventions import Endpoint, actor_of, parse
from .serializers.errors import READ_ERRORS, WRITE_ERRORS

TAG = ["approval policies"]
REQUEST_TYPE = OpenApiParameter(
    "request_type", str, OpenApiParameter.PATH, enum=list(RequestType.values)
)


class ApprovalPolicySerializer(serializers.Serializer[Any]):
    request_type = serializers.ChoiceField(
        choices=RequestType.choices, help_text="The type of request."
    )
    approvals_needed = serializers.IntegerField(
        help_text="How many different people must approve it (n)."
    )
    approver_rights = serializers.ListField(
        child=serializers.CharField(),
        help_text="Rights an approver must hold over it, or one above (m: the people who do); "
        "empty: RA Agents and above (RA Managers for requests about rights).",
    )
    approvers = serializers.CharField(source="approvers_label", help_text="The same, in words.")
    changed_at = serializers.DateTimeField(allow_null=True, help_text="When it last changed.")
    changed_by_name = serializers.CharField(help_text="Who changed it ('' for the default).")


class ApprovalPolicyWriteSerializer(serializers.Serializer[Any]):
    approvals_needed = serializers.IntegerField(
        min_value=1, max_value=MAX_APPROVERS, help_text=f"1 to {MAX_APPROVERS}."
    )
    approver_rights = serializers.ListField(
        child=serializers.ChoiceField(choices=[(r.value, r.label) for r in APPROVER_RIGHTS]),
        default=list,
        help_text="Rights an approver must hold; empty for the default.",
    )


def _one(actor: Any, request_type: str) -> PolicyInForce:
    for policy in approval_policy_list(actor=actor):
        if policy.request_type == request_type:
            return policy
    raise NotFound(f"'{request_type}' is not a type of request.")


class ApprovalPolicyListView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Every type of request and its approval policy (RA staff, service desk)",
        responses={200: ApprovalPolicySerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        policies = approval_policy_list(actor=actor_of(request))
        return Response(ApprovalPolicySerializer(policies, many=True).data)


class ApprovalPolicyDetailView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="One type of request's approval policy",
        parameters=[REQUEST_TYPE],
        responses={200: ApprovalPolicySerializer, **READ_ERRORS},
    )
    def get(self, request: Request, request_type: str) -> Response:
        return Response(ApprovalPolicySerializer(_one(actor_of(request), request_type)).data)

    @extend_schema(
        tags=TAG,
        summary="Set how many approvers (n of m) a type of request needs (service desk)",
        description="Requests already raised keep the policy they were raised under.",
        parameters=[REQUEST_TYPE],
        request=ApprovalPolicyWriteSerializer,
        responses={200: ApprovalPolicySerializer, **WRITE_ERRORS},
    )
    def put(self, request: Request, request_type: str) -> Response:
        actor = actor_of(request)
        _one(actor, request_type)
        data = parse(ApprovalPolicyWriteSerializer, request.data)
        policy = approval_policy_set(actor=actor, request_type=request_type, **data)
        return Response(ApprovalPolicySerializer(policy).data)


urlpatterns = [
    path("approval-policies/", ApprovalPolicyListView.as_view(), name="approval-policy-list"),
    path(
        "approval-policies/<str:request_type>/",
        ApprovalPolicyDetailView.as_view(),
        name="approval-policy-detail",
    ),
]
