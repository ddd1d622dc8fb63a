"""The audit trail over the API: events as sentences, filtered, scoped, keyset pages; or CSV."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request

from cis.audit.export import HEADINGS, NEWEST_FIRST, event_values, export_rows
from cis.audit.selectors import AuditFilter, audit_search
from cis.authz.actions import Action
from cis.authz.policy import require
from cis.core.csvfile import csv_response

from .conventions import KeysetPages, actor_of, parse
from .csv import CsvEndpoint
from .serializers.errors import READ_ERRORS

TAG = ["audit"]


class AuditQuerySerializer(serializers.Serializer[Any]):
    person = serializers.CharField(
        required=False, allow_blank=True, max_length=12,
        help_text="A user id: events about this person, or done by them.",
    )  # fmt: skip
    actor = serializers.CharField(
        required=False, allow_blank=True, max_length=64,
        help_text="Events done by this user id (or console, or system).",
    )  # fmt: skip
    action = serializers.CharField(
        required=False, allow_blank=True, max_length=64,
        help_text="An action (card.unlock_assisted) or an area (card).",
    )  # fmt: skip
    organisation = serializers.CharField(
        required=False, allow_blank=True, max_length=16, help_text="An ODS code."
    )
    since = serializers.DateField(required=False, help_text="From the start of this day (UK).")
    until = serializers.DateField(required=False, help_text="To the end of this day (UK).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since > until:
            raise serializers.ValidationError({"until": "The end date is before the start date."})
        return attrs


class EventSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="Orders events across chains (newest first).")
    at = serializers.DateTimeField()
    sentence = serializers.CharField(help_text="The event in words.")
    actor = serializers.CharField(help_text="User id, or console / system.")
    actor_name = serializers.CharField()
    action = serializers.CharField()
    rule = serializers.CharField(help_text="The policy rule that allowed it.")
    target_type = serializers.CharField()
    target = serializers.CharField()
    subject = serializers.CharField(help_text="The user id of the person it is about, if any.")
    organisation = serializers.CharField()
    request = serializers.CharField()
    channel = serializers.CharField(help_text="portal, api, console, agent, job...")
    client_address = serializers.CharField()
    before = serializers.DictField(help_text="What the target was, where it changed.")
    after = serializers.DictField(help_text="What the target became.")


class AuditPageSerializer(serializers.Serializer[Any]):
    next = serializers.CharField(allow_null=True, help_text="The next (older) page, or null.")
    previous = serializers.CharField(allow_null=True, help_text="The page before, or null.")
    results = EventSerializer(many=True)


class AuditListView(CsvEndpoint):
    keyset_order = NEWEST_FIRST

    @extend_schema(
        tags=TAG,
        operation_id="audit_list",
        summary="Search the audit trail",
        description=(
            "Events newest first, scoped like every list: RA Managers see their RA's area, the "
            "service desk everything. Keyset pages (`?cursor=&limit=`): follow `next`. With "
            "`?format=csv` or `Accept: text/csv`, every matching event as one CSV file."
        ),
        parameters=[
            AuditQuerySerializer,
            OpenApiParameter(
                "cursor", str, description="The cursor of a `next` or `previous` link."
            ),
            OpenApiParameter(
                "limit", int, description="Events per page (default 50, at most 200)."
            ),
        ],
        responses={
            (200, "application/json"): AuditPageSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Events as CSV."),
            **READ_ERRORS,
        },
    )
    def get(self, request: Request) -> Any:
        actor = actor_of(request)
        require(actor, Action.AUDIT_VIEW)
        query = parse(AuditQuerySerializer, request.query_params)
        filters = AuditFilter(
            person=query.get("person", ""),
            actor=query.get("actor", ""),
            action=query.get("action", ""),
            organisation=query.get("organisation", ""),
            since=query.get("since"),
            until=query.get("until"),
        )
        rows = audit_search(actor=actor, filters=filters)
        if self.wants_csv(request):
            return csv_response(HEADINGS, export_rows(rows), "audit")
        pages = KeysetPages()
        events = pages.paginate_queryset(rows, request, view=self)
        return pages.get_paginated_response(EventSerializer(event_values(events), many=True).data)


routes: list[URLPattern] = [path("audit/", AuditListView.as_view(), name="audit-list")]
