"""What every v1 endpoint shares: who is asking, how lists are paged, how bodies are parsed."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model
from rest_framework import generics, serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.views import APIView

from cis.people.models import Person


class Pages(LimitOffsetPagination):
    """?limit=&offset= paging; a client may ask for at most 200 rows at once."""

    default_limit = 50
    max_limit = 200


M = TypeVar("M", bound=Model)


class Endpoint(APIView):
    """A v1 endpoint: request bodies are JSON (nested lists do not survive form encoding)."""

    parser_classes = [JSONParser]


class ListEndpoint(generics.ListAPIView[M]):
    """A v1 list endpoint: JSON bodies, and pages of rows."""

    parser_classes = [JSONParser]
    pagination_class = Pages


def actor_of(request: Request) -> Person:
    """The signed-in person; IsAuthenticated has already turned everyone else away."""
    user = request.user
    if not isinstance(user, Person):
        raise NotAuthenticated()
    return user


def parse(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    """Validate a request body or query string; problems become one 400 naming the field."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def is_schema_generation(view: Any) -> bool:
    """drf-spectacular calls views without a real request while it builds the schema."""
    return bool(getattr(view, "swagger_fake_view", False))
