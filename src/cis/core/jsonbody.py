"""The one parser for JSON bodies from outside: bounded in depth, so no input can crash a view."""

from __future__ import annotations

import json
from typing import Any

from .errors import ValidationFailed

# Every body CIS accepts nests a few levels; the limit only turns pathological input away.
MAX_DEPTH = 32


def depth(value: Any) -> int:
    """How deeply a decoded JSON value nests (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            level += 1
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            stack.extend((child, level) for child in item)
    return deepest


def loads(body: bytes | str) -> Any:
    """A request body as JSON; ValidationFailed (a 400) for anything that is not usable JSON."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise ValidationFailed(f"The request body nests deeper than {MAX_DEPTH} levels.") from None
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("The request body is not JSON.") from None
    if depth(value) > MAX_DEPTH:
        raise ValidationFailed(f"The request body nests deeper than {MAX_DEPTH} levels.")
    return value


def load_object(body: bytes | str) -> dict[str, Any]:
    """A request body that must be a JSON object (an empty body is an empty object)."""
    value = loads(body or b"{}")
    if not isinstance(value, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    return value
