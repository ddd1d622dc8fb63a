"""Positions: list (by organisation) and read within scope, and create (RA Agent Advanced)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from cis.rbac.models import Position
from cis.rbac.selectors import position_list
from cis.rbac.services import position_create, position_retire, position_update

from . import lookups
from .conventions import Endpoint, ListEndpoint, actor_of, is_schema_generation, parse
from .serializers.errors import READ_ERRORS, WRITE_ERRORS
from .serializers.positions import (
    PositionCreateSerializer,
    PositionFilterSerializer,
    PositionRetireSerializer,
    PositionSerializer,
    PositionUpdateSerializer,
)

TAG = ["positions"]
POSITION_ID = OpenApiParameter("position_id", int, OpenApiParameter.PATH)


class PositionListView(ListEndpoint[Position]):
    serializer_class = PositionSerializer

    def get_queryset(self) -> QuerySet[Position]:
        if is_schema_generation(self):
            return Position.objects.none()
        actor = actor_of(self.request)
        wanted = parse(PositionFilterSerializer, self.request.query_params.dict())
        organisation = (
            lookups.organisation(actor=actor, ods_code=wanted["organisation"], field="organisation")
            if "organisation" in wanted
            else None
        )
        return position_list(actor=actor, organisation=organisation)

    @extend_schema(
        tags=TAG,
        summary="The positions in your scope",
        parameters=[PositionFilterSerializer],
        responses={200: PositionSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAG,
        summary="Create a position (RA Agent Advanced)",
        description="The organisation must be open; the roles' baseline activities are added.",
        request=PositionCreateSerializer,
        responses={201: PositionSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = parse(PositionCreateSerializer, request.data)
        position = position_create(
            actor=actor,
            organisation=lookups.organisation(
                actor=actor, ods_code=data["organisation"], field="organisation"
            ),
            name=data["name"],
            job_role_codes=data["job_roles"],
            activity_codes=data["activities"],
            workgroups=data["workgroups"],
            area_of_work_code=data["area_of_work"],
            assignable=data["assignable"],
        )
        return Response(PositionSerializer(position).data, status=status.HTTP_201_CREATED)


class PositionDetailView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Read a position",
        parameters=[POSITION_ID],
        responses={200: PositionSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, position_id: int) -> Response:
        position = lookups.position(actor=actor_of(request), position_id=position_id)
        return Response(PositionSerializer(position).data)

    @extend_schema(
        tags=TAG,
        summary="Change a position for everyone who holds it (RA Agent Advanced)",
        parameters=[POSITION_ID],
        request=PositionUpdateSerializer,
        responses={200: PositionSerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request, position_id: int) -> Response:
        actor = actor_of(request)
        position = lookups.position(actor=actor, position_id=position_id)
        data = parse(PositionUpdateSerializer, request.data)
        renamed = {
            "job_roles": "job_role_codes",
            "activities": "activity_codes",
            "area_of_work": "area_of_work_code",
        }
        position = position_update(
            actor=actor, position=position, **{renamed.get(k, k): v for k, v in data.items()}
        )
        return Response(PositionSerializer(position).data)


class PositionRetireView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Retire a position: its holders' assignments end today (RA Agent Advanced)",
        parameters=[POSITION_ID],
        request=PositionRetireSerializer,
        responses={200: PositionSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, position_id: int) -> Response:
        actor = actor_of(request)
        position = lookups.position(actor=actor, position_id=position_id)
        data = parse(PositionRetireSerializer, request.data)
        position = position_retire(actor=actor, position=position, **data)
        return Response(PositionSerializer(position).data)
