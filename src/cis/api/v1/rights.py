"""CIS rights: list and read within scope, grant and revoke (RA Manager, service desk)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from cis.rights.models import RightGrant
from cis.rights.selectors import grant_list
from cis.rights.services import right_grant, right_revoke

from . import lookups
from .conventions import Endpoint, ListEndpoint, actor_of, is_schema_generation, parse
from .serializers.errors import READ_ERRORS, WRITE_ERRORS
from .serializers.rights import (
    RightFilterSerializer,
    RightGrantCreateSerializer,
    RightGrantSerializer,
    RightRevokeSerializer,
)

TAG = ["rights"]
GRANT_ID = OpenApiParameter("grant_id", int, OpenApiParameter.PATH)


class RightListView(ListEndpoint[RightGrant]):
    serializer_class = RightGrantSerializer

    def get_queryset(self) -> QuerySet[RightGrant]:
        if is_schema_generation(self):
            return RightGrant.objects.none()
        actor = actor_of(self.request)
        wanted = parse(RightFilterSerializer, self.request.query_params.dict())
        person = (
            lookups.person(actor=actor, user_id=wanted["person"], field="person")
            if "person" in wanted
            else None
        )
        return grant_list(
            actor=actor, person=person, current_only=wanted["current"]
        ).select_related("granted_by", "revoked_by")

    @extend_schema(
        tags=TAG,
        summary="CIS rights held in your scope (and your own)",
        parameters=[RightFilterSerializer],
        responses={200: RightGrantSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAG,
        summary="Grant a CIS right (RA Manager, service desk)",
        description=(
            "Scope it to an organisation (optionally with its children) or to an RA's whole "
            "area; the service desk right is national and takes no scope. Nobody grants "
            "themselves a right, or one above their own."
        ),
        request=RightGrantCreateSerializer,
        responses={201: RightGrantSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = parse(RightGrantCreateSerializer, request.data)
        data["person"] = lookups.person(actor=actor, user_id=data["person"], field="person")
        if "organisation" in data:
            data["organisation"] = lookups.organisation(
                actor=actor, ods_code=data["organisation"], field="organisation"
            )
        if "ra" in data:
            data["ra"] = lookups.registration_authority(code=data["ra"], field="ra")
        grant = right_grant(actor=actor, **data)
        return Response(RightGrantSerializer(grant).data, status=status.HTTP_201_CREATED)


class RightDetailView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Read a CIS right grant",
        parameters=[GRANT_ID],
        responses={200: RightGrantSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, grant_id: int) -> Response:
        grant = lookups.right_grant(actor=actor_of(request), grant_id=grant_id)
        return Response(RightGrantSerializer(grant).data)


class RightRevokeView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Revoke a CIS right (RA Manager, service desk)",
        parameters=[GRANT_ID],
        request=RightRevokeSerializer,
        responses={200: RightGrantSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, grant_id: int) -> Response:
        actor = actor_of(request)
        grant = lookups.right_grant(actor=actor, grant_id=grant_id)
        data = parse(RightRevokeSerializer, request.data)
        revoked = right_revoke(actor=actor, grant=grant, **data)
        return Response(RightGrantSerializer(revoked).data)
