"""What every v1 endpoint shares: who is asking, how lists are paged, how bodies are parsed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from django.db.models import Model, QuerySet
from rest_framework import generics, serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.pagination import BasePagination, LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from cis.core import ratelimit
from cis.core.errors import ValidationFailed
from cis.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset_page, limit_of
from cis.people.models import Person

from .parsers import JsonBody


class Pages(LimitOffsetPagination):
    """?limit=&offset= paging; a client may ask for at most 200 rows at once."""

    default_limit = 50
    max_limit = 200


class KeysetPages(BasePagination):
    """?cursor=&limit= paging for long lists: {next, previous, results}, no count.

    The rows come in the queryset's own order, or the view's `keyset_order` (non-null fields;
    the primary key breaks ties); `next` and `previous` are links carrying the cursor, null at
    either end.
    """

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        order: Sequence[str] | None = getattr(view, "keyset_order", None)
        page = keyset_page(
            queryset,
            order=order,
            cursor=request.query_params.get("cursor") or None,
            limit=limit_of(request.query_params.get("limit")),
        )
        url = request.build_absolute_uri()
        self.next_link, self.previous_link = (
            replace_query_param(url, "cursor", c) if c else None
            for c in (page.next_cursor, page.previous_cursor)
        )
        return page.results

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self.next_link, "previous": self.previous_link, "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The next page, or null on the last page."},
                "previous": {**link, "description": "The page before, or null on the first."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "Where the page starts: the cursor of a `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": "limit",
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            },
        ]


class SharedThrottle(BaseThrottle):
    """A limit per client address that every worker and machine counts together
    (`cis.core.ratelimit`: Redis when configured, else the database), unlike DRF's own
    throttles, which count in each process's cache."""

    scope: ClassVar[str] = ""
    limit: ClassVar[int] = 60
    window_seconds: ClassVar[int] = 60

    def allow_request(self, request: Request, view: Any) -> bool:
        self.verdict = ratelimit.hit(
            f"{self.scope}:{self.get_ident(request)}",
            limit=self.limit,
            window_seconds=self.window_seconds,
        )
        return self.verdict.allowed

    def wait(self) -> float | None:
        return float(self.verdict.retry_after)


M = TypeVar("M", bound=Model)


class Endpoint(APIView):
    """A v1 endpoint: request bodies are JSON (nested lists do not survive form encoding)."""

    parser_classes = [JsonBody]


class ListEndpoint(generics.ListAPIView[M]):
    """A v1 list endpoint: JSON bodies, and pages of rows."""

    parser_classes = [JsonBody]
    pagination_class = Pages


class LongListEndpoint(generics.ListAPIView[M]):
    """A v1 list that can run to millions of rows: keyset pages, no count."""

    parser_classes = [JsonBody]
    pagination_class = KeysetPages
    keyset_order: ClassVar[Sequence[str] | None] = None  # None: the queryset's own order


def actor_of(request: Request) -> Person:
    """The signed-in person; IsAuthenticated has already turned everyone else away."""
    user = request.user
    if not isinstance(user, Person):
        raise NotAuthenticated()
    return user


# Where a change came from is CIS's to write: the workflow sets it when it applies an approved
# request. A body that names one is refused whole rather than have it silently ignored.
PROVENANCE_FIELDS = ("request_ref",)


def parse(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    """Validate a request body or query string; problems become one 400 naming the field."""
    if isinstance(data, Mapping):
        for name in PROVENANCE_FIELDS:
            if name in data:
                raise ValidationFailed(
                    f"{name} is set by CIS when it applies an approved request; a change made "
                    "directly cannot name one. Leave it out, or raise a request.",
                    field=name,
                )
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def is_schema_generation(view: Any) -> bool:
    """drf-spectacular calls views without a real request while it builds the schema."""
    return bool(getattr(view, "swagger_fake_view", False))
