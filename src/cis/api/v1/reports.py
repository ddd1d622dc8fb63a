"""Reports over the API: the portal's tables, as JSON or (?format=csv, or Accept) as CSV."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from cis.authz.actions import Action
from cis.authz.policy import require
from cis.core.csvfile import csv_response
from cis.core.dbrouting import reads_from_replica
from cis.reports.tables import DEFINITIONS, Report, Table, report_build

from .conventions import actor_of
from .csv import CsvEndpoint
from .serializers.errors import READ_ERRORS

TAG = ["reports"]


class ColumnSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text="The name of the value in each row.")
    label = serializers.CharField(  # type: ignore[assignment] # a field named like Field.label
        help_text="The column's heading (and the CSV header)."
    )
    numeric = serializers.BooleanField()


class TableSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text="Choose it for CSV with ?table=KEY.")
    caption = serializers.CharField()
    columns = ColumnSerializer(many=True)
    rows = serializers.ListField(
        child=serializers.DictField(),
        help_text="One object per row, keyed by the columns' keys: text, integers, ISO dates.",
    )


class ReportSerializer(serializers.Serializer[Any]):
    report = serializers.CharField(source="slug")
    title = serializers.CharField()
    description = serializers.CharField()
    generated_at = serializers.DateTimeField()
    options = serializers.DictField(child=serializers.CharField())
    main = serializers.CharField(help_text="The table CSV exports unless ?table= names another.")
    tables = TableSerializer(many=True)


def report_data(report: Report) -> dict[str, Any]:
    return {
        "slug": report.slug,
        "title": report.title,
        "description": report.description,
        "generated_at": report.generated_at,
        "options": report.options,
        "main": report.main,
        "tables": [
            {
                "key": t.key,
                "caption": t.caption,
                "columns": [vars(c) for c in t.columns],
                "rows": t.rows,
            }
            for t in report.tables
        ],
    }


def table_csv(report: Report, table: Table) -> Any:
    return csv_response([c.label for c in table.columns], table.values(), report.file_stem(table))


@reads_from_replica
class ReportListView(CsvEndpoint):
    @extend_schema(
        tags=TAG,
        operation_id="reports_list",
        summary="The reports you may read",
        description="Offered to LSAs, Sponsors, ID Checkers, RA staff and the service desk.",
        responses={200: OpenApiTypes.OBJECT, **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        require(actor_of(request), Action.REPORT_VIEW)
        return Response(
            {
                "reports": [
                    {
                        "report": d.slug,
                        "title": d.title,
                        "description": d.description,
                        "url": request.build_absolute_uri(
                            reverse("api-v1:report-detail", args=[d.slug])
                        ),
                        "options": [
                            {
                                "name": o.name,
                                "label": o.label,
                                "choices": [v for v, _ in o.choices],
                                "default": o.default,
                            }
                            for o in d.options
                        ],
                    }
                    for d in DEFINITIONS
                ]
            }
        )


@reads_from_replica
class ReportDetailView(CsvEndpoint):
    @extend_schema(
        tags=TAG,
        operation_id="reports_retrieve",
        summary="One report, scoped to you",
        description=(
            "Every figure counts only the people, organisations and requests your rights reach. "
            "`days` (certificates-expiring: 7, 30, 90; positions-ending: 7, 30, 90) and `period` "
            "(card-activity: week, month) choose the window. With `?format=csv` or "
            "`Accept: text/csv` the answer is the main table (or `?table=KEY`) as CSV."
        ),
        parameters=[
            OpenApiParameter(
                "slug", str, OpenApiParameter.PATH, enum=[d.slug for d in DEFINITIONS]
            ),
            OpenApiParameter("days", str, required=False),
            OpenApiParameter("period", str, required=False, enum=["week", "month"]),
            OpenApiParameter("table", str, required=False),
            OpenApiParameter("format", str, required=False, enum=["json", "csv"]),
        ],
        responses={
            (200, "application/json"): ReportSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The table as CSV."),
            **READ_ERRORS,
        },
    )
    def get(self, request: Request, slug: str) -> Any:
        report = report_build(
            actor=actor_of(request), slug=slug, options=request.query_params.dict()
        )
        if self.wants_csv(request):
            return table_csv(report, report.table(request.query_params.get("table", "")))
        return Response(ReportSerializer(report_data(report)).data)


routes: list[URLPattern] = [
    path("reports/", ReportListView.as_view(), name="report-list"),
    path("reports/<slug:slug>/", ReportDetailView.as_view(), name="report-detail"),
]
