"""CSV files for people to open in a spreadsheet: one writer for every export (reports, audit).

Cells are written as text a spreadsheet shows as it is: dates in ISO 8601, times in UK local
time, and any cell that a spreadsheet would take for a formula (starting =, +, -, @, a tab or a
carriage return) prefixed with an apostrophe, so that a name typed as `=HYPERLINK(...)` stays a
name (OWASP's advice on CSV injection).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPE = "text/csv; charset=utf-8"


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)  # a negative number is a number, not a formula
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The file line by line (for a streamed response), header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([cell(v) for v in header])
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([cell(v) for v in row])
        yield buffer.getvalue()


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return "".join(csv_lines(header, rows))


def attachment_name(stem: str) -> str:
    """`Content-Disposition` for a download named after what it holds and today's date."""
    return f'attachment; filename="{stem}-{timezone.localdate().isoformat()}.csv"'


def csv_response(
    header: Sequence[str], rows: Iterable[Sequence[Any]], stem: str
) -> StreamingHttpResponse:
    """A CSV download, streamed row by row (an export may be long), named `stem-DATE.csv`."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = attachment_name(stem)
    return response
