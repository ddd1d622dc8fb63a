"""CSV from the API: chosen by `?format=csv` or `Accept: text/csv`; errors stay JSON."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from cis.core.errors import ValidationFailed

from .conventions import Endpoint


class CsvRenderer(BaseRenderer):
    """Announces text/csv to content negotiation; the views write the CSV themselves."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Any = None,
    ) -> bytes:
        # Only an error body reaches here (finalize_response turns those to JSON first).
        return bytes(JSONRenderer().render(data))


class CsvEndpoint(Endpoint):
    """A read endpoint that answers JSON, or CSV when the client asks for it."""

    renderer_classes = [JSONRenderer, CsvRenderer]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:  # noqa: FBT001, FBT002 - DRF's signature
        """An unknown ?format= is bad input (400 in the API's error shape), not DRF's bare 404."""
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            raise ValidationFailed("The format must be json or csv.", field="format") from None

    def wants_csv(self, request: Request) -> bool:
        renderer = getattr(request, "accepted_renderer", None)
        return isinstance(renderer, CsvRenderer)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response) and response.status_code >= 400:  # noqa: PLR2004
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)
