"""The national RBAC catalogue: read by anyone signed in, kept by the service desk, versioned."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from cis.rbac.catalogue import catalogue_entry_retire, catalogue_entry_save
from cis.rbac.models import CatalogueVersion, JobRole
from cis.rbac.selectors import catalogue_entry_get, catalogue_list, catalogue_versions

from .conventions import Endpoint, ListEndpoint, actor_of, is_schema_generation, parse
from .serializers.catalogue import (
    ActivityCreateSerializer,
    ActivityEntrySerializer,
    ActivityWriteSerializer,
    CatalogueFilterSerializer,
    CatalogueRetireSerializer,
    CatalogueVersionSerializer,
    JobRoleCreateSerializer,
    JobRoleEntrySerializer,
    JobRoleWriteSerializer,
)
from .serializers.errors import READ_ERRORS, WRITE_ERRORS

TAG = ["catalogue"]
CODE = OpenApiParameter("code", str, OpenApiParameter.PATH, description="The R- or B-code.")


class _Kind:
    kind: ClassVar[str]
    read: ClassVar[type[serializers.Serializer[Any]]]
    create: ClassVar[type[serializers.Serializer[Any]]]
    write: ClassVar[type[serializers.Serializer[Any]]]
    words: ClassVar[str]


class _ListView(_Kind, ListEndpoint[Any]):
    def get_serializer_class(self) -> type[serializers.Serializer[Any]]:
        return self.read

    def get_queryset(self) -> QuerySet[Any]:
        if is_schema_generation(self):
            return JobRole.objects.none()
        wanted = parse(CatalogueFilterSerializer, self.request.query_params.dict())
        return catalogue_list(
            actor=actor_of(self.request),
            kind=self.kind,
            query=wanted.get("q", ""),
            include_retired=wanted["include_retired"],
        )

    def _create(self, request: Request) -> Response:
        actor = actor_of(request)
        data = parse(self.create, request.data)
        entry = catalogue_entry_save(actor=actor, kind=self.kind, **data)
        fresh = catalogue_entry_get(actor=actor, kind=self.kind, code=entry.code)
        return Response(self.read(fresh).data, status=status.HTTP_201_CREATED)


class _DetailView(_Kind, Endpoint):
    def _get(self, request: Request, code: str) -> Response:
        entry = catalogue_entry_get(actor=actor_of(request), kind=self.kind, code=code)
        return Response(self.read(entry).data)

    def _patch(self, request: Request, code: str) -> Response:
        actor = actor_of(request)
        entry = catalogue_entry_get(actor=actor, kind=self.kind, code=code)
        data = parse(self.write, request.data)
        current = {"name": entry.name, "note": entry.note, "sources": entry.sources}
        if self.kind == "job_role":
            current.update(
                sector_code=entry.sector_code,
                sector_name=entry.sector_name,
                group_code=entry.group_code,
                group_name=entry.group_name,
            )
        keep = {k: v for k, v in current.items() if k not in request.data}
        catalogue_entry_save(actor=actor, kind=self.kind, code=entry.code, **{**data, **keep})
        fresh = catalogue_entry_get(actor=actor, kind=self.kind, code=entry.code)
        return Response(self.read(fresh).data)


class _RetireView(_Kind, Endpoint):
    def _post(self, request: Request, code: str) -> Response:
        actor = actor_of(request)
        data = parse(CatalogueRetireSerializer, request.data)
        catalogue_entry_retire(actor=actor, kind=self.kind, code=code, retire=data["retired"])
        return Response(self.read(catalogue_entry_get(actor=actor, kind=self.kind, code=code)).data)


class _JobRoles(_Kind):
    kind = "job_role"
    read = JobRoleEntrySerializer
    create = JobRoleCreateSerializer
    write = JobRoleWriteSerializer


class _Activities(_Kind):
    kind = "activity"
    read = ActivityEntrySerializer
    create = ActivityCreateSerializer
    write = ActivityWriteSerializer


class JobRoleListView(_JobRoles, _ListView):
    @extend_schema(
        tags=TAG,
        summary="The catalogue's job roles (R-codes) with their baseline (anyone signed in)",
        parameters=[CatalogueFilterSerializer],
        responses={200: JobRoleEntrySerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAG,
        summary="Add a job role to the catalogue: a new version (service desk)",
        request=JobRoleCreateSerializer,
        responses={201: JobRoleEntrySerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        return self._create(request)


class ActivityListView(_Activities, _ListView):
    @extend_schema(
        tags=TAG,
        summary="The catalogue's activities (B-codes) (anyone signed in)",
        parameters=[CatalogueFilterSerializer],
        responses={200: ActivityEntrySerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAG,
        summary="Add an activity to the catalogue: a new version (service desk)",
        request=ActivityCreateSerializer,
        responses={201: ActivityEntrySerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        return self._create(request)


class JobRoleDetailView(_JobRoles, _DetailView):
    @extend_schema(
        tags=TAG,
        summary="Read a job role",
        parameters=[CODE],
        responses={200: JobRoleEntrySerializer, **READ_ERRORS},
    )
    def get(self, request: Request, code: str) -> Response:
        return self._get(request, code)

    @extend_schema(
        tags=TAG,
        summary="Change a job role: a new version; positions keep their activities",
        parameters=[CODE],
        request=JobRoleWriteSerializer,
        responses={200: JobRoleEntrySerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request, code: str) -> Response:
        return self._patch(request, code)


class ActivityDetailView(_Activities, _DetailView):
    @extend_schema(
        tags=TAG,
        summary="Read an activity",
        parameters=[CODE],
        responses={200: ActivityEntrySerializer, **READ_ERRORS},
    )
    def get(self, request: Request, code: str) -> Response:
        return self._get(request, code)

    @extend_schema(
        tags=TAG,
        summary="Change an activity: a new version of the catalogue (service desk)",
        parameters=[CODE],
        request=ActivityWriteSerializer,
        responses={200: ActivityEntrySerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request, code: str) -> Response:
        return self._patch(request, code)


class JobRoleRetireView(_JobRoles, _RetireView):
    @extend_schema(
        tags=TAG,
        summary="Retire or reinstate a job role (service desk)",
        parameters=[CODE],
        request=CatalogueRetireSerializer,
        responses={200: JobRoleEntrySerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, code: str) -> Response:
        return self._post(request, code)


class ActivityRetireView(_Activities, _RetireView):
    @extend_schema(
        tags=TAG,
        summary="Retire or reinstate an activity (service desk)",
        parameters=[CODE],
        request=CatalogueRetireSerializer,
        responses={200: ActivityEntrySerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, code: str) -> Response:
        return self._post(request, code)


class CatalogueVersionListView(ListEndpoint[CatalogueVersion]):
    serializer_class = CatalogueVersionSerializer

    def get_queryset(self) -> QuerySet[CatalogueVersion]:
        if is_schema_generation(self):
            return CatalogueVersion.objects.none()
        return catalogue_versions(actor=actor_of(self.request))

    @extend_schema(
        tags=TAG,
        summary="The catalogue's versions, newest first, with what each changed",
        responses={200: CatalogueVersionSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


urlpatterns: list[URLPattern] = [
    path("catalogue/job-roles/", JobRoleListView.as_view(), name="catalogue-job-roles"),
    path("catalogue/job-roles/<str:code>/", JobRoleDetailView.as_view(), name="catalogue-job-role"),
    path(
        "catalogue/job-roles/<str:code>/retire/",
        JobRoleRetireView.as_view(),
        name="catalogue-job-role-retire",
    ),
    path("catalogue/activities/", ActivityListView.as_view(), name="catalogue-activities"),
    path(
        "catalogue/activities/<str:code>/", ActivityDetailView.as_view(), name="catalogue-activity"
    ),
    path(
        "catalogue/activities/<str:code>/retire/",
        ActivityRetireView.as_view(),
        name="catalogue-activity-retire",
    ),
    path("catalogue/versions/", CatalogueVersionListView.as_view(), name="catalogue-versions"),
]
