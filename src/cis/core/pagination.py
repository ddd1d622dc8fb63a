"""Keyset (cursor) pages for long lists: no OFFSET scan, and no exact count of a big list.

A page is asked for by a cursor that names the last (or first) row the client saw, by the
values of the list's ordering columns, so the database seeks straight to it through an index
however deep the page is, and rows added or removed meanwhile never shift a page. The API's
long lists (`?cursor=&limit=`, answering `{next, previous, results}`) and the portal's lists use
`keyset_page`; neither counts the whole list, which on a national directory would read every
matching row on every page.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from operator import or_
from typing import Any, Generic, TypeVar
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, Q, QuerySet

from .errors import ValidationFailed

M = TypeVar("M", bound=Model)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
BAD_CURSOR = (
    "That page link is damaged or belongs to another list: start again from the first page."
)


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    """One page: its rows, and the cursors of the pages after and before it (None at an end)."""

    results: list[M]
    next_cursor: str | None
    previous_cursor: str | None


def keyset_order(order: Sequence[str]) -> tuple[str, ...]:
    """The ordering with the primary key added last, so that every row has its own place."""
    names = tuple(order)
    if not names or names[-1].lstrip("-") not in ("pk", "id"):
        names = (*names, "pk")
    return names


def limit_of(raw: str | None, *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    """A page size from a query string: a whole number from 1, capped at `maximum`."""
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise ValidationFailed(
            f"limit must be a whole number from 1 to {maximum}.", field="limit"
        ) from None
    if value < 1:
        raise ValidationFailed(f"limit must be a whole number from 1 to {maximum}.", field="limit")
    return min(value, maximum)


def keyset_page(
    queryset: QuerySet[M],
    *,
    order: Sequence[str] | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> KeysetPage[M]:
    """The page of `queryset` after (or before) `cursor`, in `order`, at most `limit` rows.

    `order` names non-null fields (a leading "-" for descending), by default the queryset's own
    ordering; the primary key is added as the last tie-breaker. One SELECT with LIMIT+1 tells
    whether there is a further page, without counting anything.
    """
    if order is None:
        order = [str(o) for o in (queryset.query.order_by or queryset.model._meta.ordering or ())]
    names = keyset_order(order)
    limit = max(1, limit)
    backwards = False
    values: list[Any] | None = None
    if cursor:
        backwards, values = _decode(cursor, len(names))
    fields = [(name.lstrip("-"), name.startswith("-") != backwards) for name in names]
    rows = queryset.order_by(*[f"-{f}" if desc else f for f, desc in fields])
    try:
        if values is not None:
            rows = rows.filter(_after(fields, values))
        fetched = list(rows[: limit + 1])
    except (ValueError, TypeError, DjangoValidationError):  # a cursor value of the wrong type
        raise ValidationFailed(BAD_CURSOR, field="cursor") from None
    more = len(fetched) > limit
    page = fetched[:limit]
    if backwards:
        page.reverse()
    first_cursor = _encode(names, page[0], backwards=True) if page else None
    last_cursor = _encode(names, page[-1], backwards=False) if page else None
    if backwards:
        next_cursor = last_cursor if values is not None else None
        previous_cursor = first_cursor if more else None
    else:
        next_cursor = last_cursor if more else None
        previous_cursor = first_cursor if values is not None else None
    return KeysetPage(page, next_cursor, previous_cursor)


def _after(fields: list[tuple[str, bool]], values: list[Any]) -> Q:
    """Rows strictly after `values` in this order: (a, b, c) > (x, y, z), spelled out so that
    both databases can use an index on the leading column (its bound comes first)."""
    first, first_desc = fields[0]
    bound = Q(**{f"{first}__{'lte' if first_desc else 'gte'}": values[0]})
    branches = []
    for i, (name, desc) in enumerate(fields):
        equal = {f"{n}": v for (n, _), v in zip(fields[:i], values[:i], strict=True)}
        branches.append(Q(**equal, **{f"{name}__{'lt' if desc else 'gt'}": values[i]}))
    return bound & reduce(or_, branches)


def _value(row: Model, name: str) -> Any:
    value: Any = row
    for part in name.split("__"):
        value = getattr(value, part)
    if isinstance(value, Model):
        value = value.pk
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    return value


def _encode(names: Sequence[str], row: Model, *, backwards: bool) -> str:
    data = {"k": [_plain(_value(row, n.lstrip("-"))) for n in names], "b": backwards}
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(cursor: str, size: int) -> tuple[bool, list[Any]]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValidationFailed(BAD_CURSOR, field="cursor") from None
    if not isinstance(data, dict):
        raise ValidationFailed(BAD_CURSOR, field="cursor")
    values, backwards = data.get("k"), data.get("b")
    if (
        not isinstance(values, list)
        or len(values) != size
        or not isinstance(backwards, bool)
        or any(v is None or isinstance(v, dict | list) for v in values)
    ):
        raise ValidationFailed(BAD_CURSOR, field="cursor")
    return backwards, values
