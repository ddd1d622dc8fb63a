"""Every error the API returns has one shape, whether the domain or the HTTP layer raised it."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from tests.factories.directory import AssignmentFactory

from .conftest import Caller, World, assert_error, unchanged_database

PEOPLE = "/api/v1/people/"


def _signed_in(person: Any, *, csrf: bool = False) -> APIClient:
    client = APIClient(enforce_csrf_checks=csrf)
    client.force_login(person)
    return client


def test_malformed_json_is_a_parse_error(world: World) -> None:
    client = _signed_in(world.agent)
    with unchanged_database():
        response = client.post(PEOPLE, data="{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_bodies_are_json_only(world: World) -> None:
    client = _signed_in(world.agent)
    with unchanged_database():
        response = client.post(PEOPLE, {"given_name": "Form"})  # multipart
    assert_error(response, 415, "unsupported_media_type")


def test_a_method_the_route_does_not_have(world: World, call: Caller) -> None:
    response = call("agent", "delete", f"{PEOPLE}{world.holder.user_id}/")
    assert_error(response, 405, "method_not_allowed")
    assert "DELETE" in response.json()["detail"]


def test_session_writes_need_the_csrf_token(world: World) -> None:
    client = _signed_in(world.agent, csrf=True)
    with unchanged_database():
        response = client.patch(
            f"{PEOPLE}{world.colleague.user_id}/", {"given_name": "X"}, format="json"
        )
    body = assert_error(response, 403, "permission_denied")
    assert "CSRF" in body["detail"]


def test_a_body_that_is_not_an_object(world: World, call: Caller) -> None:
    with unchanged_database():
        response = call("agent", "post", PEOPLE, ["a", "list"])
    assert_error(response, 400, "validation_failed")


def test_a_client_cannot_ask_for_unbounded_pages(world: World, call: Caller) -> None:
    for _ in range(205):
        AssignmentFactory(position=world.counter)
    body = call("desk", "get", f"{PEOPLE}?limit=100000").json()
    assert len(body["results"]) == 200
    assert body["next"]


def test_health_check_still_answers(client: Any, db: None) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True}
