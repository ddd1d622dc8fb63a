"""Position assignments over the API: scoped reads, assigning and ending, and bad dates refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cis.audit.models import AuditEvent
from cis.core import clock
from cis.rbac.models import PositionAssignment
from tests.factories.directory import AssignmentFactory

from .conftest import Caller, World, assert_error, count_queries, unchanged_database

ASSIGNMENTS = "/api/v1/assignments/"


def _rows(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(row["person"]["user_id"], row["position"]["name"]) for row in body["results"]}


def test_a_holder_sees_their_own_assignments(world: World, call: Caller) -> None:
    assert _rows(call("holder", "get", ASSIGNMENTS).json()) == {
        (world.holder.user_id, "Pharmacist")
    }


def test_an_lsa_sees_the_assignments_at_their_organisation(world: World, call: Caller) -> None:
    people = {user_id for user_id, _ in _rows(call("lsa", "get", ASSIGNMENTS).json())}
    assert people == {p.user_id for p in (world.holder, world.colleague, world.lsa, world.sponsor)}


def test_filters(world: World, call: Caller) -> None:
    AssignmentFactory(
        person=world.holder,
        position=world.counter,
        start_date=clock.today() - dt.timedelta(days=90),
        end_date=clock.today() - dt.timedelta(days=60),
    )
    mine = call("agent", "get", f"{ASSIGNMENTS}?person={world.holder.user_id}").json()
    assert len(mine["results"]) == 2
    current = call("agent", "get", f"{ASSIGNMENTS}?person={world.holder.user_id}&current=true")
    assert _rows(current.json()) == {(world.holder.user_id, "Pharmacist")}
    at_head = call("agent", "get", f"{ASSIGNMENTS}?organisation=FHQ01").json()
    assert {row["position"]["organisation"]["ods_code"] for row in at_head["results"]} == {"FHQ01"}


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("person=1234", 400, "person"),
        ("person=999999999999", 404, "person"),
        ("organisation=X", 400, "organisation"),
        ("organisation=FOT01", 404, "organisation"),
        ("current=sometimes", 400, "current"),
    ],
)
def test_bad_filters(world: World, call: Caller, query: str, status: int, field: str) -> None:
    response = call("agent", "get", f"{ASSIGNMENTS}?{query}")
    assert_error(response, status, "validation_failed" if status == 400 else "not_found", field)


def test_the_list_takes_a_fixed_number_of_queries(
    world: World, call: Caller, django_assert_max_num_queries: Any
) -> None:
    few = count_queries(call, "agent", ASSIGNMENTS)
    for _ in range(12):
        AssignmentFactory(position=world.counter, granted_by=world.agent)
    with django_assert_max_num_queries(few):
        body = call("agent", "get", f"{ASSIGNMENTS}?limit=100").json()
    assert (
        len(body["results"])
        == PositionAssignment.objects.exclude(position__organisation=world.other).count()
    )
    assert few <= 10


def test_detail(world: World, call: Caller) -> None:
    body = call("lsa", "get", f"{ASSIGNMENTS}{world.holder_assignment.pk}/").json()
    assert body["person"] == {"user_id": world.holder.user_id, "full_name": "Hana Holder"}
    assert body["position"]["job_roles"][0]["full_code"] == "S8000:G8000:R8000"
    assert body["end_date"] is None
    assert body["granted_by"] is None


def test_assign_and_end(world: World, call: Caller) -> None:
    start = clock.today().isoformat()
    created = call(
        "agent",
        "post",
        ASSIGNMENTS,
        {"person": world.colleague.user_id, "position": world.counter.pk, "start_date": start},
    )
    assert created.status_code == 201, created.json()
    assert created.json()["granted_by"]["user_id"] == world.agent.user_id
    ended = call("agent", "post", f"{ASSIGNMENTS}{created.json()['id']}/end/", {})
    assert ended.status_code == 200, ended.json()
    assert ended.json()["end_date"] == start
    assert ended.json()["ended_by"]["user_id"] == world.agent.user_id
    assert AuditEvent.objects.filter(target_ref=str(created.json()["id"])).count() == 2


def _new(w: World, **overrides: Any) -> dict[str, Any]:
    return {"person": w.colleague.user_id, "position": w.counter.pk, **overrides}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"start_date": "2030-05-02", "end_date": "2030-05-01"},
            (400, "validation_failed", "end_date"),
        ),
        ({"end_date": "2001-01-01"}, (400, "validation_failed", "end_date")),
        ({"person": "12345678901"}, (400, "validation_failed", "person")),
        ({"person": "abcdefghijkl"}, (400, "validation_failed", "person")),
        ({"person": "999999999999"}, (404, "not_found", "person")),
        ({"position": 999999}, (404, "not_found", "position")),
        ({"start_date": "yesterday"}, (400, "validation_failed", "start_date")),
    ],
)
def test_create_refuses_bad_input_and_changes_nothing(
    world: World,
    call: Caller,
    overrides: dict[str, Any],
    expected: tuple[int, str, str | None],
) -> None:
    with unchanged_database():
        response = call("agent", "post", ASSIGNMENTS, _new(world, **overrides))
    assert_error(response, *expected)


def test_a_position_at_a_closed_organisation_cannot_be_assigned(world: World, call: Caller) -> None:
    with unchanged_database():
        response = call(
            "agent", "post", ASSIGNMENTS, _new(world, position=world.closed_position.pk)
        )
    body = assert_error(response, 409, "invalid_state")
    assert "closed" in body["detail"]


def test_an_unverified_person_cannot_hold_a_position(world: World, call: Caller) -> None:
    with unchanged_database():
        response = call("agent", "post", ASSIGNMENTS, _new(world, person=world.restricted.user_id))
    assert_error(response, 409, "invalid_state")


def test_the_same_position_twice_is_a_conflict(world: World, call: Caller) -> None:
    with unchanged_database():
        response = call(
            "agent",
            "post",
            ASSIGNMENTS,
            _new(world, person=world.holder.user_id, position=world.pharmacist.pk),
        )
    assert_error(response, 409, "conflict")


def test_an_end_before_the_start_changes_nothing(world: World, call: Caller) -> None:
    before_start = (world.holder_assignment.start_date - dt.timedelta(days=1)).isoformat()
    with unchanged_database():
        response = call(
            "agent",
            "post",
            f"{ASSIGNMENTS}{world.holder_assignment.pk}/end/",
            {"end_date": before_start},
        )
    assert_error(response, 400, "validation_failed", "end_date")


def test_ending_twice_is_a_409(world: World, call: Caller) -> None:
    url = f"{ASSIGNMENTS}{world.holder_assignment.pk}/end/"
    yesterday = (clock.today() - dt.timedelta(days=1)).isoformat()
    assert call("agent", "post", url, {"end_date": yesterday}).status_code == 200
    with unchanged_database():
        assert_error(call("agent", "post", url, {}), 409, "invalid_state")
