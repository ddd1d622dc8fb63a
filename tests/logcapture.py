"""What CIS's configured log handler writes (the settings' LOGGING, filters and all), at DEBUG."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handler = next(h for h in root.handlers if h.name == "console")
    stream = io.StringIO()
    previous_stream, previous_level = handler.setStream(stream), root.level  # type: ignore[attr-defined]
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        handler.setStream(previous_stream)  # type: ignore[attr-defined]
        root.setLevel(previous_level)


def log_entries(stream: io.StringIO) -> list[dict[str, object]]:
    """Each line, parsed: every line must be one JSON object."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]
