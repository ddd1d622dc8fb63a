"""Position assignments: list and read within scope, assign, and end."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from cis.rbac.models import PositionAssignment
from cis.rbac.selectors import assignment_list
from cis.rbac.services import assignment_create, assignment_end

from . import lookups
from .conventions import (
    Endpoint,
    LongListEndpoint,
    actor_of,
    is_schema_generation,
    parse,
)
from .serializers.assignments import (
    AssignmentCreateSerializer,
    AssignmentEndSerializer,
    AssignmentFilterSerializer,
    AssignmentSerializer,
)
from .serializers.errors import READ_ERRORS, WRITE_ERRORS

TAG = ["assignments"]
ASSIGNMENT_ID = OpenApiParameter("assignment_id", int, OpenApiParameter.PATH)


class AssignmentListView(LongListEndpoint[PositionAssignment]):
    serializer_class = AssignmentSerializer

    def get_queryset(self) -> QuerySet[PositionAssignment]:
        if is_schema_generation(self):
            return PositionAssignment.objects.none()
        actor = actor_of(self.request)
        wanted = parse(AssignmentFilterSerializer, self.request.query_params.dict())
        person = (
            lookups.person(actor=actor, user_id=wanted["person"], field="person")
            if "person" in wanted
            else None
        )
        organisation = (
            lookups.organisation(actor=actor, ods_code=wanted["organisation"], field="organisation")
            if "organisation" in wanted
            else None
        )
        return assignment_list(
            actor=actor, person=person, organisation=organisation, current_only=wanted["current"]
        ).select_related("granted_by", "ended_by")

    @extend_schema(
        tags=TAG,
        summary="Position assignments in your scope (and your own)",
        parameters=[AssignmentFilterSerializer],
        responses={200: AssignmentSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAG,
        summary="Assign a position (RA Agent; Sponsor for assignable positions)",
        description=(
            "The person's identity must be verified, and the position active at an open "
            "organisation. Nobody assigns a position to themselves."
        ),
        request=AssignmentCreateSerializer,
        responses={201: AssignmentSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = parse(AssignmentCreateSerializer, request.data)
        data["person"] = lookups.person(actor=actor, user_id=data["person"], field="person")
        data["position"] = lookups.position(
            actor=actor, position_id=data["position"], field="position"
        )
        assignment = assignment_create(actor=actor, **data)
        return Response(AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)


class AssignmentDetailView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Read a position assignment",
        parameters=[ASSIGNMENT_ID],
        responses={200: AssignmentSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, assignment_id: int) -> Response:
        found = lookups.assignment(actor=actor_of(request), assignment_id=assignment_id)
        return Response(AssignmentSerializer(found).data)


class AssignmentEndView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="End a position assignment (RA Agent; Sponsor for assignable positions)",
        parameters=[ASSIGNMENT_ID],
        request=AssignmentEndSerializer,
        responses={200: AssignmentSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        actor = actor_of(request)
        found = lookups.assignment(actor=actor, assignment_id=assignment_id)
        data = parse(AssignmentEndSerializer, request.data)
        ended = assignment_end(actor=actor, assignment=found, **data)
        return Response(AssignmentSerializer(ended).data)
