"""Bad input and faults get clear answers in the API's JSON shape, never a 500 or a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cis.core import jsonbody
from cis.core.errors import ValidationFailed

from .conftest import World, unchanged_database

DEEP = "[" * 1000 + "]" * 1000  # about 2 KB that used to take every JSON endpoint down
SIGN_IN = ["/signin/agent/respond", "/api/v1/agent/sign-in/"]


def _routes(
    patterns: list[URLPattern | URLResolver] | None = None, prefix: str = ""
) -> Iterator[str]:
    """Every route, with each path value filled in with something that names nothing."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        text = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + text)
            continue
        route = prefix + text
        for name in ("<int:", "<str:", "<slug:", "<uuid:"):
            while name in route:
                start = route.index(name)
                end = route.index(">", start) + 1
                route = route[:start] + ("1" if name == "<int:" else "x") + route[end:]
        yield "/" + route.lstrip("^").rstrip("$")


API_ROUTES = sorted({r for r in _routes() if r.startswith("/api/v1/")})


def _client(world: World, name: str = "agent") -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(world.persona(name))
    return client


def _is_json_error(response: Any, status: int | None = None) -> dict[str, Any]:
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if status is not None:
        assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body: dict[str, Any] = json.loads(response.content)
    assert body.get("error") and (body.get("detail") or body.get("message")), body
    return body


def test_every_api_route_is_listed() -> None:
    assert len(API_ROUTES) > 40, API_ROUTES


@pytest.mark.parametrize("route", API_ROUTES)
def test_deeply_nested_json_is_a_400_everywhere(world: World, route: str) -> None:
    client = _client(world)
    with unchanged_database():
        for method in ("post", "patch", "put"):
            response = getattr(client, method)(route, data=DEEP, content_type="application/json")
            if response.status_code < 300:
                continue  # a route that reads no body (the agent's challenge)
            # 403: refused by the policy before the body is read (a service-desk-only route).
            assert response.status_code in (400, 403, 404, 405), (method, response.content[:300])
            _is_json_error(response)


@pytest.mark.parametrize("route", SIGN_IN)
def test_sign_in_endpoints_refuse_nested_json_unauthenticated(db: None, route: str) -> None:
    response = Client(raise_request_exception=False).post(
        route, data=DEEP, content_type="application/json"
    )
    assert response.status_code in (400, 401, 403), response.content[:200]
    _is_json_error(response)


def test_an_oversized_body_is_a_413_in_json(world: World) -> None:
    with unchanged_database():
        response = _client(world).post(
            "/api/v1/people/", data="[" + "1," * 3_000_000 + "1]", content_type="application/json"
        )
    assert _is_json_error(response, 413)["error"] == "request_too_large"


@pytest.mark.parametrize(
    "route",
    [
        "/api/v1/assignments/abc/",
        "/api/v1/rights/not-a-number/revoke/",
        "/api/v1/positions/1e5/",
        "/api/v1/nothing-here/",
        "/api/v1/certificates/not-hex/",
    ],
)
def test_malformed_path_values_are_json_404s(world: World, route: str) -> None:
    assert _is_json_error(_client(world).get(route), 404)["error"] == "not_found"


@pytest.mark.parametrize("route", ["/certificates/not-hex/", "/certificates/zz/revoke/"])
def test_a_portal_path_that_names_nothing_is_a_404_page(world: World, route: str) -> None:
    response = _client(world).get(route)
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_a_failing_database_is_a_503_json_on_the_api_and_a_page_elsewhere(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, portal = _client(world), _client(world)

    def lost(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as down:
        down.setattr(CursorWrapper, "execute", lost)
        down.setattr(CursorWrapper, "executemany", lost)
        answer, page, health = (
            api.get("/api/v1/people/"),
            portal.get("/people/"),
            Client().get("/healthz"),
        )
    assert answer.status_code == 503
    assert answer["Retry-After"]
    assert json.loads(answer.content)["error"] == "unavailable"
    assert page.status_code == 503
    assert b"the service is unavailable" in page.content
    assert b"Traceback" not in page.content and b"OperationalError" not in page.content
    assert health.status_code == 503
    assert json.loads(health.content) == {"status": "unavailable", "database": False}


# The parser itself, on anything at all.


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_jsonbody_answers_a_value_or_a_validation_error_for_any_bytes(raw: bytes) -> None:
    try:
        jsonbody.loads(raw)
    except ValidationFailed as exc:
        assert "JSON" in exc.message or "nests" in exc.message


@given(st.integers(min_value=0, max_value=5000), st.sampled_from(["[", '{"a":']))
def test_jsonbody_bounds_any_nesting(levels: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    raw = opener * levels + "1" + closer * levels
    if levels <= jsonbody.MAX_DEPTH:
        assert jsonbody.depth(jsonbody.loads(raw)) == levels
    else:
        with pytest.raises(ValidationFailed, match="nests deeper"):
            jsonbody.loads(raw)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/audit/", "/api/v1/reports/"])
def test_an_unknown_format_is_bad_input_in_the_apis_error_shape(path: str) -> None:
    """A list that also speaks CSV names the formats it has, not DRF's bare 404."""
    from rest_framework.test import APIClient  # noqa: PLC0415

    from tests.factories.directory import PersonFactory  # noqa: PLC0415

    client = APIClient()
    client.force_login(PersonFactory())
    answer = client.get(path, {"format": "xml"})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "validation_failed",
        "detail": "The format must be json or csv.",
        "field": "format",
    }
