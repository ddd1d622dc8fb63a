"""Requests to the RA: raise, list the queue, read one with its history, and decide it."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request as HttpRequest
from rest_framework.response import Response

from cis.core import clock
from cis.people.services import DOCUMENT_TYPES
from cis.workflow import selectors, services
from cis.workflow.apply import IdentityEvidence
from cis.workflow.models import Request, RequestApproval
from cis.workflow.schemas import PAYLOAD_HELP
from cis.workflow.selectors import AGES, VIEWS, QueueFilter
from cis.workflow.states import EscalationLevel, EventKind, RequestState, RequestType

from . import lookups
from .conventions import (
    Endpoint,
    LongListEndpoint,
    actor_of,
    is_schema_generation,
    parse,
)
from .serializers.errors import READ_ERRORS, WRITE_ERRORS, ErrorSerializer
from .serializers.refs import (
    OrganisationRefSerializer,
    PersonRefSerializer,
    RegistrationAuthorityRefSerializer,
)

TAG = ["requests"]
REQUEST_ID = OpenApiParameter(
    "request_id", int, OpenApiParameter.PATH, description="The request's number (REQ-000042: 42)."
)


# Serializers


class RequestEventSerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField(help_text="When it happened.")
    kind = serializers.ChoiceField(choices=EventKind.choices, help_text="What happened.")
    actor_name = serializers.CharField(help_text="Who did it (or 'CIS (schedule)').")
    from_state = serializers.CharField(help_text="The state before ('' for the first event).")
    to_state = serializers.CharField(help_text="The state after.")
    note = serializers.CharField(help_text="The note, reason or result recorded with it.")


class EscalationSerializer(serializers.Serializer[Any]):
    level = serializers.ChoiceField(
        choices=EscalationLevel.choices, help_text="1: the RA Manager; 2: the service desk."
    )
    raised_by = PersonRefSerializer(
        allow_null=True, help_text="Who escalated it (null: the clock)."
    )
    reason = serializers.CharField(help_text="Why it was escalated.")
    raised_at = serializers.DateTimeField(help_text="When it was escalated.")
    closed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the request closed, ending the escalation."
    )
    outcome = serializers.CharField(help_text="How it ended.")


class RequestSummarySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The request's number.")
    ref = serializers.CharField(help_text="The reference people quote, e.g. REQ-000042.")
    request_type = serializers.ChoiceField(choices=RequestType.choices, help_text="What it asks.")
    request_type_label = serializers.CharField(source="get_request_type_display")
    state = serializers.ChoiceField(choices=RequestState.choices, help_text="Where it stands.")
    subject = PersonRefSerializer(
        allow_null=True, help_text="Who it is about (null: a new person not yet registered)."
    )
    subject_label = serializers.CharField(help_text="The subject's name, new people included.")
    organisation = OrganisationRefSerializer(allow_null=True, help_text="Where it was raised.")
    ra = RegistrationAuthorityRefSerializer(help_text="The RA whose queue it is in.")
    raised_by = PersonRefSerializer(allow_null=True, help_text="Who raised it.")
    raised_at = serializers.DateTimeField(help_text="When it was raised.")
    due_at = serializers.DateTimeField(help_text="When it escalates if nobody answers it.")
    overdue = serializers.SerializerMethodField(help_text="Open and past its due time.")
    escalation_level = serializers.ChoiceField(
        choices=EscalationLevel.choices, help_text="0 none, 1 RA Manager, 2 service desk."
    )
    approvals_needed = serializers.IntegerField(
        help_text="How many different people must approve it: its type's approval policy "
        "when it was raised."
    )
    approver_rights = serializers.ListField(
        child=serializers.CharField(),
        help_text="The CIS rights an approver must hold (or one above); empty: RA Agents and up.",
    )
    approvals_given = serializers.IntegerField(help_text="Approvals recorded so far.")
    closed_at = serializers.DateTimeField(allow_null=True, help_text="When it was closed.")

    def get_overdue(self, obj: Request) -> bool:
        return obj.is_open and obj.due_at <= clock.now()


class RequestDetailSerializer(RequestSummarySerializer):
    payload = serializers.DictField(help_text="The checked fields of the request.")
    note = serializers.CharField(help_text="The requester's note.")
    decided_by = PersonRefSerializer(allow_null=True, help_text="Who decided it.")
    decided_at = serializers.DateTimeField(allow_null=True, help_text="When it was decided.")
    decision_reason = serializers.CharField(help_text="The reason given with the decision.")
    applied_at = serializers.DateTimeField(allow_null=True, help_text="When it was applied.")
    result_ref = serializers.CharField(
        help_text="What applying it made, e.g. person:123456789012, or card:<chip serial> for a "
        "card request closed by the card operation that carried it out."
    )
    assigned_to = PersonRefSerializer(
        allow_null=True, help_text="The RA Agent it was handed to (reassign), if any."
    )
    history = RequestEventSerializer(many=True, help_text="Everything that happened, in order.")
    escalations = EscalationSerializer(many=True, help_text="Its escalations, open and closed.")


class RequestCreateSerializer(serializers.Serializer[Any]):
    request_type = serializers.ChoiceField(choices=RequestType.choices, help_text="What to ask.")
    payload = serializers.DictField(help_text=PAYLOAD_HELP)
    note = serializers.CharField(
        default="", allow_blank=True, max_length=1000, help_text="Anything the RA should know."
    )


class IdentityEvidenceSerializer(serializers.Serializer[Any]):
    document_types = serializers.ListField(
        child=serializers.ChoiceField(choices=[(k, v[0]) for k, v in DOCUMENT_TYPES.items()]),
        help_text="Three different documents seen (types only): one with a photo, one with the "
        "address.",
    )
    photo = serializers.CharField(
        help_text="A photo of the person taken at the check: a base64 JPEG or PNG, at most 2 MB."
    )
    checked_on = serializers.DateField(required=False, help_text="The day of the check.")
    notes = serializers.CharField(default="", allow_blank=True, max_length=500)

    def validate_photo(self, value: str) -> bytes:
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError("The photo is not valid base64.") from None


class RequestApproveSerializer(serializers.Serializer[Any]):
    note = serializers.CharField(default="", allow_blank=True, max_length=1000)
    identity = IdentityEvidenceSerializer(
        required=False,
        help_text="person_register only: the face-to-face identity check. Without it the new "
        "person is created restricted and no position is assigned.",
    )
    acknowledged_duplicates = serializers.ListField(
        child=serializers.CharField(),
        default=list,
        help_text="User ids of probable duplicates the approver has looked at (see duplicates/).",
    )
    partial_reason = serializers.CharField(
        default="",
        allow_blank=True,
        max_length=1000,
        help_text="An approval that would leave out part of what was asked (a registration's "
        "position without the identity check) is refused (400, field partial_reason) naming "
        "what is missing, unless this says why it is approved in part.",
    )


class CommentSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(allow_blank=True, max_length=1000, help_text="The comment.")


class ReassignSerializer(serializers.Serializer[Any]):
    agent = serializers.CharField(
        max_length=20, help_text="The 12-digit user id of the RA Agent who is to decide it."
    )
    note = serializers.CharField(
        default="", allow_blank=True, max_length=1000, help_text="What they should know."
    )


class ReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(allow_blank=True, max_length=1000, help_text="Why.")


class OptionalReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(default="", allow_blank=True, max_length=1000)


class QueueFilterSerializer(serializers.Serializer[Any]):
    view = serializers.ChoiceField(choices=VIEWS, default="open")
    ods_code = serializers.CharField(default="", allow_blank=True, max_length=6)
    type = serializers.ChoiceField(choices=RequestType.choices, required=False)
    older_than_days = serializers.ChoiceField(choices=list(AGES), required=False)


class DuplicateSerializer(PersonRefSerializer):
    date_of_birth = serializers.DateField(help_text="Their date of birth.")
    status = serializers.CharField(help_text="Their profile's status.")


# Views


# What a summary shows of a request's relations: the selector also joins who decided it and who
# it was handed to, for the detail; on a page of the queue two more joins of the people table
# cost PostgreSQL more to plan than the rows they would bring.
SUMMARY_RELATED = ("subject", "organisation", "ra", "raised_by")


def _with_counts(rows: QuerySet[Request]) -> QuerySet[Request]:
    """Each request's approvals, counted in a subquery per row of the page: a JOIN with
    GROUP BY every selected column (six tables') cost PostgreSQL more to plan than to run."""
    given = (
        RequestApproval.objects.filter(request=OuterRef("pk"))
        .order_by()
        .values("request")
        .annotate(n=Count("id"))
        .values("n")
    )
    return rows.annotate(approvals_given=Coalesce(Subquery(given), 0))


def _detail(actor: Any, pk: int) -> dict[str, Any]:
    request = selectors.request_get(actor=actor, pk=pk)
    request.approvals_given = request.approvals.count()  # type: ignore[attr-defined]
    data = dict(RequestDetailSerializer(request).data)
    data["history"] = RequestEventSerializer(
        selectors.request_history(request=request), many=True
    ).data
    data["escalations"] = EscalationSerializer(
        selectors.request_escalations(request=request), many=True
    ).data
    return data


class RequestListView(LongListEndpoint[Request]):
    serializer_class = RequestSummarySerializer

    def get_queryset(self) -> QuerySet[Request]:
        if is_schema_generation(self):
            return Request.objects.none()
        f = parse(QueueFilterSerializer, self.request.query_params)
        filters = QueueFilter(
            view=f["view"],
            ods_code=f["ods_code"],
            request_type=f.get("type", ""),
            older_than_days=AGES[f["older_than_days"]] if f.get("older_than_days") else None,
        )
        rows = selectors.request_queue(actor=actor_of(self.request), filters=filters)
        return _with_counts(rows.select_related(None).select_related(*SUMMARY_RELATED))

    @extend_schema(
        tags=TAG,
        summary="The RA queue, your requests, and the requests about you",
        parameters=[
            OpenApiParameter(
                "view",
                str,
                enum=list(VIEWS),
                description="open (default), closed (last 30 days), mine (raised by you), "
                "about-me, escalated, awaiting-card.",
            ),
            OpenApiParameter("ods_code", str, description="Only requests at this organisation."),
            OpenApiParameter("type", str, enum=RequestType.values, description="Only this type."),
            OpenApiParameter(
                "older_than_days",
                str,
                enum=list(AGES),
                description="Raised at least this long ago.",
            ),
        ],
        responses={200: RequestSummarySerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAG,
        summary="Raise a request (Sponsor, RA staff; rights: RA Manager)",
        description="The payload is checked for its type; a problem is a 400 whose `field` is "
        "`payload.<name>`. " + PAYLOAD_HELP,
        request=RequestCreateSerializer,
        responses={201: RequestDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request: HttpRequest) -> Response:
        actor = actor_of(request)
        data = parse(RequestCreateSerializer, request.data)
        raised = services.request_raise(
            actor=actor,
            request_type=data["request_type"],
            payload=data["payload"],
            note=data["note"],
        )
        return Response(_detail(actor, raised.pk), status=status.HTTP_201_CREATED)


class RequestDetailView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Read a request with its full history",
        parameters=[REQUEST_ID],
        responses={200: RequestDetailSerializer, **READ_ERRORS},
    )
    def get(self, request: HttpRequest, request_id: int) -> Response:
        return Response(_detail(actor_of(request), request_id))


class RequestDuplicatesView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="People a registration may duplicate (the approver must look at them)",
        parameters=[REQUEST_ID],
        responses={200: DuplicateSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: HttpRequest, request_id: int) -> Response:
        actor = actor_of(request)
        found = selectors.request_get(actor=actor, pk=request_id)
        people = selectors.register_duplicates(actor=actor, request=found)
        return Response(DuplicateSerializer(people, many=True).data)


class RequestApproveView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Approve a request (RA Agent; rights: RA Manager), applying it",
        description="The last approval needed applies the change at once; card requests become "
        "'approved' until the card is issued. If another agent decided it first, the answer is "
        "409 invalid_state naming them. A registration that may duplicate someone is 409 "
        "probable_duplicate until their user ids are sent in acknowledged_duplicates.",
        parameters=[REQUEST_ID],
        request=RequestApproveSerializer,
        responses={
            200: RequestDetailSerializer,
            **WRITE_ERRORS,
            409: OpenApiResponse(
                ErrorSerializer, description="Already decided, or a probable duplicate."
            ),
        },
    )
    def post(self, request: HttpRequest, request_id: int) -> Response:
        actor = actor_of(request)
        found = selectors.request_get(actor=actor, pk=request_id)
        data = parse(RequestApproveSerializer, request.data)
        identity = data.get("identity")
        services.request_approve(
            actor=actor,
            request=found,
            note=data["note"],
            identity=IdentityEvidence(**identity) if identity else None,
            acknowledged_duplicates=data["acknowledged_duplicates"],
            partial_reason=data["partial_reason"],
        )
        return Response(_detail(actor, request_id))


class RequestRejectView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Reject a request, with the reason (RA Agent; rights: RA Manager)",
        parameters=[REQUEST_ID],
        request=ReasonSerializer,
        responses={200: RequestDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request: HttpRequest, request_id: int) -> Response:
        actor = actor_of(request)
        found = selectors.request_get(actor=actor, pk=request_id)
        data = parse(ReasonSerializer, request.data)
        services.request_reject(actor=actor, request=found, reason=data["reason"])
        return Response(_detail(actor, request_id))


class RequestCancelView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Withdraw your request, or cancel one (RA Agent)",
        parameters=[REQUEST_ID],
        request=OptionalReasonSerializer,
        responses={200: RequestDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request: HttpRequest, request_id: int) -> Response:
        actor = actor_of(request)
        found = selectors.request_get(actor=actor, pk=request_id)
        data = parse(OptionalReasonSerializer, request.data)
        services.request_cancel(actor=actor, request=found, reason=data["reason"])
        return Response(_detail(actor, request_id))


class RequestEscalateView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Escalate a request by hand ('my RA has not responded')",
        description="To the RA Manager; once they are past the new due time, to the service desk.",
        parameters=[REQUEST_ID],
        request=ReasonSerializer,
        responses={200: RequestDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request: HttpRequest, request_id: int) -> Response:
        actor = actor_of(request)
        found = selectors.request_get(actor=actor, pk=request_id)
        data = parse(ReasonSerializer, request.data)
        services.request_escalate(actor=actor, request=found, reason=data["reason"])
        return Response(_detail(actor, request_id))


class RequestCommentView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Add a comment to a request's history",
        description="RA staff and the service desk, and the request's raiser and subject. The "
        "raiser, the subject and the RA Agent it is assigned to are emailed.",
        parameters=[REQUEST_ID],
        request=CommentSerializer,
        responses={201: RequestDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request: HttpRequest, request_id: int) -> Response:
        actor = actor_of(request)
        found = selectors.request_get(actor=actor, pk=request_id)
        data = parse(CommentSerializer, request.data)
        services.request_comment(actor=actor, request=found, text=data["text"])
        return Response(_detail(actor, request_id), status=status.HTTP_201_CREATED)


class RequestReassignView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Hand a request to an RA Agent (RA Manager; service desk once escalated to it)",
        description="The agent must be one who may approve it (400, field agent, otherwise). "
        "The open escalation closes with the outcome 'Reassigned to ...', the request is open "
        "again with a new due time, and the agent and the raiser are emailed.",
        parameters=[REQUEST_ID],
        request=ReassignSerializer,
        responses={200: RequestDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request: HttpRequest, request_id: int) -> Response:
        actor = actor_of(request)
        found = selectors.request_get(actor=actor, pk=request_id)
        data = parse(ReassignSerializer, request.data)
        agent = lookups.person(actor=actor, user_id=data["agent"], field="agent")
        services.request_reassign(actor=actor, request=found, agent=agent, note=data["note"])
        return Response(_detail(actor, request_id))


urlpatterns = [
    path("requests/", RequestListView.as_view(), name="request-list"),
    path("requests/<int:request_id>/", RequestDetailView.as_view(), name="request-detail"),
    path(
        "requests/<int:request_id>/duplicates/",
        RequestDuplicatesView.as_view(),
        name="request-duplicates",
    ),
    path(
        "requests/<int:request_id>/approve/",
        RequestApproveView.as_view(),
        name="request-approve",
    ),
    path("requests/<int:request_id>/reject/", RequestRejectView.as_view(), name="request-reject"),
    path("requests/<int:request_id>/cancel/", RequestCancelView.as_view(), name="request-cancel"),
    path(
        "requests/<int:request_id>/escalate/",
        RequestEscalateView.as_view(),
        name="request-escalate",
    ),
    path(
        "requests/<int:request_id>/comments/",
        RequestCommentView.as_view(),
        name="request-comment",
    ),
    path(
        "requests/<int:request_id>/reassign/",
        RequestReassignView.as_view(),
        name="request-reassign",
    ),
]
