"""Report pages: the list of reports, each report with its charts and tables, CSV and SVG."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import dateformat, timezone
from django.views import View

from cis.authz.actions import Action
from cis.authz.policy import require
from cis.core.csvfile import csv_response
from cis.core.dbrouting import reads_from_replica
from cis.core.errors import ValidationFailed
from cis.portal.navigation import NAV_ENTRIES, NavEntry
from cis.reports.charts import chart_svg
from cis.reports.tables import (
    DEFINITIONS,
    Definition,
    Report,
    Table,
    chart_table,
    definition,
    report_build,
)

from .base import PortalPage, SignedInMixin

REPORTS_NAV = NavEntry(
    "Reports",
    "portal:report-list",
    Action.REPORT_VIEW,
    "Locked cards, expiring certificates, waiting requests and more, for those you look after.",
)
if REPORTS_NAV not in NAV_ENTRIES:
    NAV_ENTRIES.append(REPORTS_NAV)


def shown(value: Any) -> str:
    """A table cell as the page shows it (CSV and JSON keep ISO dates)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return dateformat.format(timezone.localtime(value), "j M Y, H:i")
    if isinstance(value, dt.date):
        return dateformat.format(value, "j M Y")
    return str(value)


def options_form(found: Definition, data: dict[str, str]) -> forms.Form | None:
    if not found.options:
        return None
    form = forms.Form(data or None)
    for option in found.options:
        form.fields[option.name] = forms.ChoiceField(
            label=option.label, choices=option.choices, initial=option.default
        )
    return form


def bad_request(exc: ValidationFailed) -> HttpResponse:
    """A hand-made address with a value no form offers: say which, change nothing."""
    return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")


def table_item(slug: str, table: Table, options: dict[str, str]) -> dict[str, Any]:
    """A report table as the page draws it (`portal/reports/table.html`): its cells as text,
    its CSV download and, when it has one, its chart's address. The report page and the home
    pages show tables through this, so a chart and its figures always come from one table."""
    suffix = urlencode({**options, "table": table.key})
    query = f"?{urlencode(options)}" if options else ""
    return {
        "table": table,
        "columns": [c for c in table.columns if c.on_page],
        "rows": [
            [
                (c.label, shown(v), c.numeric)
                for c, v in zip(table.columns, row, strict=True)
                if c.on_page
            ]
            for row in table.values()
        ],
        "csv_url": f"{reverse('portal:report-csv', args=[slug])}?{suffix}",
        "chart_url": (
            f"{reverse('portal:report-chart', args=[slug, table.key])}{query}"
            if table.chart
            else ""
        ),
    }


def _build(view: SignedInMixin, slug: str) -> Report:
    return report_build(actor=view.actor, slug=slug, options=view.request.GET.dict())


@reads_from_replica
class ReportListView(PortalPage):
    template_name = "portal/reports/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        require(self.actor, Action.REPORT_VIEW)
        context.update(heading="Reports", definitions=DEFINITIONS)
        return context


@reads_from_replica
class ReportView(PortalPage):
    template_name = "portal/reports/report.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        slug = self.kwargs["slug"]
        found = definition(slug)
        require(self.actor, Action.REPORT_VIEW)
        form = options_form(found, self.request.GET.dict())
        if form is not None and form.is_bound and not form.is_valid():
            # A hand-edited address: show the form's message, and the report at its defaults.
            report = report_build(actor=self.actor, slug=slug)
        else:
            report = _build(self, slug)
        tables = [table_item(slug, table, report.options) for table in report.tables]
        context.update(
            heading=report.title,
            report=report,
            form=form,
            tables=tables,
            generated=shown(report.generated_at),
            back_url=reverse("portal:report-list"),
        )
        return context


@reads_from_replica
class ReportCsvView(SignedInMixin, View):
    """One table of a report as a CSV download (the main table unless ?table= names another)."""

    def get(self, request: HttpRequest, slug: str) -> HttpResponse | StreamingHttpResponse:
        try:
            report = _build(self, slug)
            table = report.table(request.GET.get("table", ""))
        except ValidationFailed as exc:
            return bad_request(exc)
        return csv_response(
            [c.label for c in table.columns], table.values(), report.file_stem(table)
        )


@reads_from_replica
class ReportChartView(SignedInMixin, View):
    """A table's chart as SVG, for an <img> on the report page (no script, no inline style)."""

    def get(self, request: HttpRequest, slug: str, table: str) -> HttpResponse:
        try:
            chosen, _options = chart_table(
                actor=self.actor, slug=slug, key=table, options=request.GET.dict()
            )
        except ValidationFailed as exc:
            return bad_request(exc)
        if chosen.chart is None:
            return HttpResponse("This table has no chart.", status=404, content_type="text/plain")
        response = HttpResponse(chart_svg(chosen), content_type="image/svg+xml")
        response["Cache-Control"] = "private, no-store"
        return response


routes: list[URLPattern] = [
    path("reports/", ReportListView.as_view(), name="report-list"),
    path("reports/<slug:slug>/", ReportView.as_view(), name="report"),
    path("reports/<slug:slug>/export.csv", ReportCsvView.as_view(), name="report-csv"),
    path(
        "reports/<slug:slug>/<slug:table>/chart.svg",
        ReportChartView.as_view(),
        name="report-chart",
    ),
]
