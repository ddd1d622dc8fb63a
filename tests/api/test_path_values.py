"""Any value in any route's path gets a clear answer, never a 500: hypothesis fills every
parameterised route of the portal and the API with text, numbers and edge cases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import World

CONVERTER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>")


def _routes(
    patterns: list[URLPattern | URLResolver] | None = None, prefix: str = ""
) -> Iterator[str]:
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        text = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + text)
        elif CONVERTER.search(text) or CONVERTER.search(prefix):
            yield "/" + prefix + text


ROUTES = sorted(r for r in set(_routes()) if not r.startswith(("/^", "/assets")))

EDGE_CASES = [
    "0",
    "-1",
    "0x10",
    "..",
    "%00",
    "9" * 40,  # more than any database integer holds
    "f" * 300,
    "\u0663",  # an Arabic-Indic digit: int() reads it, the route's [0-9] does not
    "1e5",
    " ",
    "null",
    "<script>",
    "AAAA",
    "zz:zz",
]
# Any text (what a person could type or paste), runs of digits, and the cases above.
VALUES = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=24),
    st.from_regex(r"[0-9]{1,40}", fullmatch=True),
    st.from_regex(r"[0-9A-Fa-f:]{1,50}", fullmatch=True),
    st.sampled_from(EDGE_CASES),
)


def _fill(route: str, data: st.DataObject) -> str:
    def value(match: re.Match[str]) -> str:
        drawn = data.draw(VALUES, label=match["name"])
        return quote(drawn, safe="/" if match["kind"] == "path" else "")

    return CONVERTER.sub(value, route)


def test_the_routes_are_found() -> None:
    assert len(ROUTES) > 80
    assert "/certificates/<str:serial>/" in ROUTES
    assert "/api/v1/cards/<str:chip_serial>/" in ROUTES


@pytest.mark.parametrize("route", ROUTES)
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_path_value_gets_a_clear_answer(world: World, route: str, data: st.DataObject) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(world.persona("manager"))
    path = _fill(route, data)
    for method in ("get", "post"):
        response = getattr(client, method)(path)
        assert response.status_code < 500, (method, path, response.content[:300])
        assert b"Traceback" not in response.content
