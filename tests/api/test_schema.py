"""The OpenAPI document: valid OpenAPI 3, free of generator warnings, listing every route, and
describing every field, parameter and error of the directory endpoints."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate
from rest_framework.test import APIClient

DIRECTORY_MODULES = {
    f"cis.api.v1.{name}"
    for name in ("me", "people", "organisations", "positions", "assignments", "rights", "catalogue")
}
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def test_the_schema_is_public_and_valid_openapi_3(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_generation_raises_no_warnings(tmp_path: Path) -> None:
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )


def _api_routes() -> list[tuple[str, Any]]:
    """Every route under /api/v1/, as an OpenAPI path template, with its view class."""
    found: list[tuple[str, Any]] = []

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif route.startswith("api/v1/"):
                template = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
                found.append(("/" + template, pattern.callback.view_class))  # type: ignore[attr-defined]

    walk(get_resolver().url_patterns, "")
    return found


def test_every_route_and_method_is_listed(schema: dict[str, Any]) -> None:
    routes = _api_routes()
    assert len(routes) >= 19
    for template, view_class in routes:
        assert template in schema["paths"], f"{template} is missing from the schema"
        methods = {m for m in METHODS if hasattr(view_class, m)}
        assert methods == set(schema["paths"][template]) - {"parameters"}, template


def _directory_operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """The operations of the directory's own modules (other domains test their own routes)."""
    paths = {t for t, view in _api_routes() if view.__module__ in DIRECTORY_MODULES}
    return [
        (path, method, operation)
        for path in sorted(paths)
        for method, operation in schema["paths"][path].items()
        if method in METHODS
    ]


def test_every_operation_is_summarised_and_documents_its_errors(schema: dict[str, Any]) -> None:
    operations = _directory_operations(schema)
    assert len(operations) == 49  # with POST people/{user_id}/extend-access/
    for path, method, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        assert {"400", "403", "404"} <= set(operation["responses"]), where
        assert operation["responses"]["403"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
        if method != "get":
            assert "409" in operation["responses"], where
            assert list(operation["requestBody"]["content"]) == ["application/json"], where
        for parameter in operation.get("parameters", []):
            if parameter["name"] not in ("limit", "offset"):  # DRF's own, described by DRF
                assert parameter.get("description") or parameter["in"] == "path", where


def _referenced(schema: dict[str, Any], node: Any, seen: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                _referenced(schema, schema["components"]["schemas"][name], seen)
        for value in node.values():
            _referenced(schema, value, seen)
    elif isinstance(node, list):
        for value in node:
            _referenced(schema, value, seen)


def test_every_field_of_the_directory_endpoints_is_described(schema: dict[str, Any]) -> None:
    names: set[str] = set()
    for _, _, operation in _directory_operations(schema):
        _referenced(schema, operation, names)
    assert {
        "PersonDetail",
        "Organisation",
        "Position",
        "Assignment",
        "RightGrant",
        "Error",
    } <= names
    for name in sorted(names):
        component = schema["components"]["schemas"][name]
        if name.startswith("Paginated") or "enum" in component:
            continue  # DRF's paging envelope; enums describe themselves by their values
        for field, spec in component.get("properties", {}).items():
            assert spec.get("description"), f"{name}.{field} has no description"


def test_the_probable_duplicate_answer_is_documented(schema: dict[str, Any]) -> None:
    create = schema["paths"]["/api/v1/people/"]["post"]
    assert "probable_duplicate" in create["responses"]["409"]["description"]
    assert (
        "acknowledged_duplicates"
        in schema["components"]["schemas"]["PersonCreateRequest"]["properties"]
    )
