"""Organisations: list and read within scope, and create (RA Manager, service desk)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from cis.organisations.models import Organisation
from cis.organisations.selectors import organisation_list
from cis.organisations.services import organisation_create

from . import lookups
from .conventions import Endpoint, ListEndpoint, actor_of, is_schema_generation, parse
from .serializers.errors import READ_ERRORS, WRITE_ERRORS
from .serializers.organisations import (
    OrganisationCreateSerializer,
    OrganisationFilterSerializer,
    OrganisationSerializer,
)

TAG = ["organisations"]
ODS_CODE = OpenApiParameter(
    "ods_code",
    str,
    OpenApiParameter.PATH,
    description="The ODS code; a malformed one is a 400.",
    pattern="^[A-Za-z0-9]{3,6}$",
)


class OrganisationListView(ListEndpoint[Organisation]):
    serializer_class = OrganisationSerializer

    def get_queryset(self) -> QuerySet[Organisation]:
        if is_schema_generation(self):
            return Organisation.objects.none()
        query = parse(OrganisationFilterSerializer, self.request.query_params.dict()).get("q", "")
        return organisation_list(actor=actor_of(self.request), query=query)

    @extend_schema(
        tags=TAG,
        summary="The organisations in your scope",
        parameters=[OrganisationFilterSerializer],
        responses={200: OrganisationSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAG,
        summary="Create an organisation (RA Manager, service desk)",
        request=OrganisationCreateSerializer,
        responses={201: OrganisationSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = parse(OrganisationCreateSerializer, request.data)
        data["serving_ra"] = lookups.registration_authority(
            code=data["serving_ra"], field="serving_ra"
        )
        if "parent" in data:
            data["parent"] = lookups.organisation(
                actor=actor, ods_code=data["parent"], field="parent"
            )
        org = organisation_create(actor=actor, **data)
        return Response(OrganisationSerializer(org).data, status=status.HTTP_201_CREATED)


class OrganisationDetailView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Read an organisation",
        parameters=[ODS_CODE],
        responses={200: OrganisationSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, ods_code: str) -> Response:
        org = lookups.organisation(actor=actor_of(request), ods_code=ods_code)
        return Response(OrganisationSerializer(org).data)
