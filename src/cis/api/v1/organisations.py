"""Organisations: list and read within scope, and create (RA Manager, service desk)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from cis.organisations.models import Organisation, RegistrationAuthority
from cis.organisations.selectors import organisation_list, ra_get, ra_list
from cis.organisations.services import (
    organisation_close,
    organisation_create,
    organisation_move,
    organisation_reopen,
    organisation_update,
    ra_create,
    ra_update,
)

from . import lookups
from .conventions import (
    Endpoint,
    ListEndpoint,
    LongListEndpoint,
    actor_of,
    is_schema_generation,
    parse,
)
from .serializers.errors import READ_ERRORS, WRITE_ERRORS
from .serializers.organisations import (
    OrganisationCloseSerializer,
    OrganisationCreateSerializer,
    OrganisationFilterSerializer,
    OrganisationMoveSerializer,
    OrganisationReopenSerializer,
    OrganisationSerializer,
    OrganisationUpdateSerializer,
    RegistrationAuthorityCreateSerializer,
    RegistrationAuthoritySerializer,
    RegistrationAuthorityUpdateSerializer,
)

TAG = ["organisations"]
RA_TAG = ["registration authorities"]
RA_CODE = OpenApiParameter(
    "code", str, OpenApiParameter.PATH, description="The RA's code, e.g. RA-NP."
)
ODS_CODE = OpenApiParameter(
    "ods_code",
    str,
    OpenApiParameter.PATH,
    description="The ODS code; a malformed one is a 400.",
    pattern="^[A-Za-z0-9]{3,6}$",
)


class OrganisationListView(LongListEndpoint[Organisation]):
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

    @extend_schema(
        tags=TAG,
        summary="Change an organisation's name, address or geography (RA Manager, service desk)",
        parameters=[ODS_CODE],
        request=OrganisationUpdateSerializer,
        responses={200: OrganisationSerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request, ods_code: str) -> Response:
        actor = actor_of(request)
        org = lookups.organisation(actor=actor, ods_code=ods_code)
        data = parse(OrganisationUpdateSerializer, request.data)
        org = organisation_update(actor=actor, organisation=org, **data)
        return Response(OrganisationSerializer(org).data)


class OrganisationCloseView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Close an organisation (RA Manager in their area, service desk)",
        parameters=[ODS_CODE],
        request=OrganisationCloseSerializer,
        responses={200: OrganisationSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, ods_code: str) -> Response:
        actor = actor_of(request)
        org = lookups.organisation(actor=actor, ods_code=ods_code)
        data = parse(OrganisationCloseSerializer, request.data)
        org = organisation_close(actor=actor, organisation=org, **data)
        return Response(OrganisationSerializer(org).data)


class OrganisationReopenView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Reopen a closed organisation (RA Manager in their area, service desk)",
        parameters=[ODS_CODE],
        request=OrganisationReopenSerializer,
        responses={200: OrganisationSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, ods_code: str) -> Response:
        actor = actor_of(request)
        org = lookups.organisation(actor=actor, ods_code=ods_code)
        data = parse(OrganisationReopenSerializer, request.data)
        org = organisation_reopen(actor=actor, organisation=org, **data)
        return Response(OrganisationSerializer(org).data)


class OrganisationMoveView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Move an organisation under another parent, or (service desk) to another RA",
        parameters=[ODS_CODE],
        request=OrganisationMoveSerializer,
        responses={200: OrganisationSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, ods_code: str) -> Response:
        actor = actor_of(request)
        org = lookups.organisation(actor=actor, ods_code=ods_code)
        data = parse(OrganisationMoveSerializer, request.data)
        changes: dict[str, Any] = {}
        if "parent" in data:
            parent = data["parent"]
            changes["parent"] = (
                None
                if parent is None
                else lookups.organisation(actor=actor, ods_code=parent, field="parent")
            )
        if "serving_ra" in data:
            changes["serving_ra"] = lookups.registration_authority(
                code=data["serving_ra"], field="serving_ra"
            )
        org = organisation_move(actor=actor, organisation=org, **changes)
        return Response(OrganisationSerializer(org).data)


class RegistrationAuthorityListView(ListEndpoint[RegistrationAuthority]):
    serializer_class = RegistrationAuthoritySerializer

    def get_queryset(self) -> QuerySet[RegistrationAuthority]:
        return ra_list().order_by("code")

    @extend_schema(
        tags=RA_TAG,
        summary="The Registration Authorities and how to reach them (anyone signed in)",
        responses={200: RegistrationAuthoritySerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        actor_of(request)
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=RA_TAG,
        summary="Add a Registration Authority (service desk)",
        request=RegistrationAuthorityCreateSerializer,
        responses={201: RegistrationAuthoritySerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = parse(RegistrationAuthorityCreateSerializer, request.data)
        ra = ra_create(actor=actor, **data)
        return Response(RegistrationAuthoritySerializer(ra).data, status=status.HTTP_201_CREATED)


class RegistrationAuthorityDetailView(Endpoint):
    @extend_schema(
        tags=RA_TAG,
        summary="Read a Registration Authority",
        parameters=[RA_CODE],
        responses={200: RegistrationAuthoritySerializer, **READ_ERRORS},
    )
    def get(self, request: Request, code: str) -> Response:
        actor_of(request)
        return Response(RegistrationAuthoritySerializer(ra_get(code=code)).data)

    @extend_schema(
        tags=RA_TAG,
        summary="Change an RA's name, contact details or area (service desk)",
        parameters=[RA_CODE],
        request=RegistrationAuthorityUpdateSerializer,
        responses={200: RegistrationAuthoritySerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request, code: str) -> Response:
        actor = actor_of(request)
        ra = ra_get(code=code)
        data = parse(RegistrationAuthorityUpdateSerializer, request.data)
        ra = ra_update(actor=actor, ra=ra, **data)
        return Response(RegistrationAuthoritySerializer(ra).data)
