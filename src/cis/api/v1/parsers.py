"""The API's one body parser: JSON through cis.core.jsonbody, so bad bodies are 400s, never 500s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from cis.core import jsonbody
from cis.core.errors import ValidationFailed


class JsonBody(JSONParser):
    """Malformed, non-UTF-8 or absurdly nested JSON is a parse_error in the API's error shape."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            return jsonbody.loads(raw)
        except ValidationFailed as exc:
            raise ParseError(exc.message) from None
