"""Imports over the API: a file queued for the jobs runner (202), its status and report polled."""

from __future__ import annotations

from typing import Any

from django.urls import path, reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from cis.core.errors import ValidationFailed
from cis.imports.models import ImportKind, ImportRun, ImportStatus
from cis.imports.ods import LAYOUTS
from cis.imports.selectors import import_get, import_list
from cis.imports.services import import_submit
from cis.organisations.selectors import ra_list

from .conventions import Endpoint, ListEndpoint, actor_of, parse
from .serializers.errors import READ_ERRORS, WRITE_ERRORS

TAG = ["imports"]


class RejectionSerializer(serializers.Serializer[Any]):
    line = serializers.IntegerField(help_text="The line of the file (1 is the first).")
    field = serializers.CharField(help_text="The column, as the file's layout names it.")
    reason = serializers.CharField()


class ImportRunSerializer(serializers.ModelSerializer[ImportRun]):
    status = serializers.ChoiceField(choices=ImportStatus.choices)
    rejected = RejectionSerializer(many=True, help_text="Every rejected row.")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="What changed.")
    url = serializers.SerializerMethodField(help_text="Where to poll this import.")

    class Meta:
        model = ImportRun
        fields = [
            "id",
            "kind",
            "layout",
            "filename",
            "partial",
            "status",
            "submitted_by_name",
            "created_at",
            "started_at",
            "finished_at",
            "rows",
            "counts",
            "rejected",
            "message",
            "url",
        ]

    def get_url(self, run: ImportRun) -> str:
        return reverse("api-v1:import-detail", args=[run.pk])


class ImportSubmitSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=ImportKind.choices, help_text="ods or esr.")
    filename = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        max_length=200,
        help_text="Names the ODS layout if no layout.",
    )
    layout = serializers.ChoiceField(
        choices=["", *LAYOUTS], required=False, default="", help_text="The ODS file's layout."
    )
    all_or_nothing = serializers.BooleanField(
        required=False,
        default=True,
        help_text="True (the default): one rejected row and nothing is imported. False: import "
        "the good rows and report the rest (the command line's --partial).",
    )
    ra = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        help_text="Code of the RA that serves new organisations whose area no RA covers.",
    )
    content = serializers.CharField(
        required=False, trim_whitespace=False, help_text="The CSV text (or upload it as 'file')."
    )
    file = serializers.FileField(required=False, help_text="The CSV file (multipart).")


class ImportListView(ListEndpoint[ImportRun]):
    serializer_class = ImportRunSerializer
    parser_classes = [JSONParser, MultiPartParser]

    def get_queryset(self) -> Any:
        return import_list(actor=actor_of(self.request))

    @extend_schema(
        tags=TAG,
        summary="Imports, newest first (service desk)",
        responses={200: ImportRunSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAG,
        summary="Queue an ODS or ESR file for import (service desk)",
        description="The jobs runner (`cis jobs run`) processes it; poll the returned url. "
        "All or nothing unless partial; the report names the line, field and reason of every "
        "rejected row.",
        request=ImportSubmitSerializer,
        responses={202: ImportRunSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = parse(ImportSubmitSerializer, request.data)
        upload = data.get("file")
        if upload is not None:
            content, filename = upload.read(), data["filename"] or upload.name or ""
        elif data.get("content"):
            content, filename = data["content"].encode(), data["filename"]
        else:
            raise ValidationFailed(
                "Send the file as 'file' or its text as 'content'.", field="file"
            )
        default_ra = None
        if data["ra"]:
            default_ra = ra_list().filter(code=data["ra"].strip().upper()).first()
            if default_ra is None:
                raise ValidationFailed(f"No active RA with code {data['ra']}.", field="ra")
        run = import_submit(
            actor=actor_of(request),
            kind=data["kind"],
            data=content,
            filename=filename,
            layout=data["layout"],
            partial=not data["all_or_nothing"],
            default_ra=default_ra,
        )
        return Response(ImportRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ImportDetailView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="One import: its status, counts and rejected rows (service desk)",
        parameters=[OpenApiParameter("run_id", int, OpenApiParameter.PATH)],
        responses={200: ImportRunSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, run_id: int) -> Response:
        return Response(
            ImportRunSerializer(import_get(actor=actor_of(request), run_id=run_id)).data
        )


urlpatterns = [
    path("imports/", ImportListView.as_view(), name="import-list"),
    path("imports/<int:run_id>/", ImportDetailView.as_view(), name="import-detail"),
]
