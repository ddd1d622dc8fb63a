"""The audit viewer: events as sentences, filtered, a page at a time, and the CSV export."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import URLPattern, path
from django.views import View

from cis.audit.export import HEADINGS, NEWEST_FIRST, event_values, export_rows
from cis.audit.selectors import AuditFilter, audit_search
from cis.authz.actions import Action
from cis.authz.policy import require
from cis.core.csvfile import csv_response
from cis.portal.navigation import NAV_ENTRIES, NavEntry

from .base import PortalPage, SignedInMixin, page_of

AUDIT_NAV = NavEntry(
    "Audit trail",
    "portal:audit",
    Action.AUDIT_VIEW,
    "Who changed what, when and under which rule, in the organisations your rights cover.",
)
if AUDIT_NAV not in NAV_ENTRIES:
    NAV_ENTRIES.append(AUDIT_NAV)

PAGE_SIZE = 50
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
FILTERS = ("person", "actor", "action", "organisation", "since", "until")


class AuditFilterForm(forms.Form):
    person = forms.CharField(
        label="Person (user id)",
        required=False,
        max_length=12,
        help_text="Events about this person, or done by them.",
    )
    actor = forms.CharField(
        label="Done by (user id)",
        required=False,
        max_length=64,
        help_text="A user id, or console or system.",
    )
    action = forms.CharField(
        label="Action",
        required=False,
        max_length=64,
        help_text="An action as the Action column names it, or its first part for a whole area.",
    )
    organisation = forms.CharField(label="Organisation (ODS code)", required=False, max_length=16)
    since = forms.DateField(
        label="From",
        required=False,
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the start date as a real date, like 01/12/2026."},
    )
    until = forms.DateField(
        label="To",
        required=False,
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the end date as a real date, like 31/12/2026."},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date must be the same as or after the start date.")
        return data

    def audit_filter(self) -> AuditFilter:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return AuditFilter(
            person=data.get("person") or "",
            actor=data.get("actor") or "",
            action=data.get("action") or "",
            organisation=data.get("organisation") or "",
            since=data.get("since"),
            until=data.get("until"),
        )


def _chosen(request: HttpRequest) -> dict[str, str]:
    """The filters given in the address, blanks left out."""
    return {k: v for k in FILTERS if (v := request.GET.get(k, "").strip())}


def _form(request: HttpRequest) -> AuditFilterForm:
    return AuditFilterForm(_chosen(request) or None)


class AuditView(PortalPage):
    template_name = "portal/audit/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        require(self.actor, Action.AUDIT_VIEW)
        form = _form(self.request)
        valid = not form.is_bound or form.is_valid()
        filters = form.audit_filter() if valid else AuditFilter()
        rows = audit_search(actor=self.actor, filters=filters).order_by(*NEWEST_FIRST)
        page = page_of(self.request, rows, limit=PAGE_SIZE)
        chosen = _chosen(self.request)
        context.update(
            heading="Audit trail",
            form=form,
            filtered=bool(chosen) and valid,
            page=page,
            events=event_values(page.results),
            csv_url=f"export.csv?{urlencode(chosen)}" if valid else "",
        )
        return context


class AuditCsvView(SignedInMixin, View):
    """Every event the filters match (and the viewer may see), newest first, as CSV."""

    def get(self, request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
        require(self.actor, Action.AUDIT_VIEW)
        form = _form(request)
        if form.is_bound and not form.is_valid():
            problems = "; ".join(
                f"{name}: {' '.join(str(m) for m in messages)}"
                for name, messages in form.errors.items()
            )
            return HttpResponse(problems, status=400, content_type="text/plain; charset=utf-8")
        rows = audit_search(actor=self.actor, filters=form.audit_filter())
        return csv_response(HEADINGS, export_rows(rows), "audit")


routes: list[URLPattern] = [
    path("audit/", AuditView.as_view(), name="audit"),
    path("audit/export.csv", AuditCsvView.as_view(), name="audit-csv"),
]
