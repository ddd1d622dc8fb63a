"""Positions over the API: scoped lists and reads, and creation refused at a closed organisation."""

from __future__ import annotations

from typing import Any

import pytest

from cis.rbac.models import Position
from tests.factories.directory import ActivityFactory, PositionFactory

from .conftest import Caller, World, assert_error, count_queries, unchanged_database

POSITIONS = "/api/v1/positions/"


def _names(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(row["organisation"]["ods_code"], row["name"]) for row in body["results"]}


def test_an_lsa_sees_the_positions_at_their_organisation(world: World, call: Caller) -> None:
    assert _names(call("lsa", "get", POSITIONS).json()) == {
        ("FBR01", "Pharmacist"),
        ("FBR01", "Counter assistant"),
    }


def test_a_holder_sees_only_the_positions_they_hold(world: World, call: Caller) -> None:
    assert _names(call("holder", "get", POSITIONS).json()) == {("FBR01", "Pharmacist")}


def test_filter_by_organisation(world: World, call: Caller) -> None:
    body = call("agent", "get", f"{POSITIONS}?organisation=fhq01").json()
    assert _names(body) == {("FHQ01", "Administrator")}


@pytest.mark.parametrize(("code", "status"), [("F!", 400), ("FOT01", 404), ("FZZ99", 404)])
def test_a_bad_organisation_filter(world: World, call: Caller, code: str, status: int) -> None:
    response = call("agent", "get", f"{POSITIONS}?organisation={code}")
    assert_error(response, status, "validation_failed" if status == 400 else "not_found")
    assert response.json()["field"] == "organisation"


def test_the_list_takes_a_fixed_number_of_queries(
    world: World, call: Caller, django_assert_max_num_queries: Any
) -> None:
    few = count_queries(call, "agent", POSITIONS)
    extra = ActivityFactory(code="B0267", name="RA ID checker")
    for n in range(10):
        position = PositionFactory(
            organisation=world.head, name=f"Role {n}", job_roles=[world.role]
        )
        position.activities.set([world.activity, extra])
    with django_assert_max_num_queries(few):
        body = call("agent", "get", f"{POSITIONS}?limit=100").json()
    assert body["count"] == 14
    assert few <= 10


def test_detail_lists_full_role_codes_and_activities(world: World, call: Caller) -> None:
    body = call("lsa", "get", f"{POSITIONS}{world.pharmacist.pk}/").json()
    assert body["job_roles"] == [
        {
            "code": "R8000",
            "name": "Clinical Practitioner Access Role",
            "full_code": "S8000:G8000:R8000",
        }
    ]
    assert body["activities"] == [{"code": "B0825", "name": "Amend patient demographics"}]
    assert body["organisation"] == {"ods_code": "FBR01", "name": "Chain Branch"}
    assert body["assignable"] is False
    assert body["status"] == "active"


def test_create_adds_the_baseline_activities(world: World, call: Caller) -> None:
    response = call(
        "advanced",
        "post",
        POSITIONS,
        {
            "organisation": "FBR01",
            "name": "  Dispenser  ",
            "job_roles": ["r8000"],
            "workgroups": ["Dispensary"],
            "assignable": True,
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Dispenser"
    assert [a["code"] for a in body["activities"]] == ["B0825"]
    assert body["workgroups"] == ["Dispensary"]
    assert body["assignable"] is True


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"organisation": "FCL01"}, (409, "invalid_state", None)),  # a closed organisation
        ({"organisation": "F!!"}, (400, "validation_failed", "organisation")),
        ({"organisation": "FOT01"}, (404, "not_found", "organisation")),
        ({"job_roles": []}, (400, "validation_failed", "job_roles")),
        ({"job_roles": ["R9999"]}, (400, "validation_failed", "job_roles")),
        ({"activities": ["B9999"]}, (400, "validation_failed", "activities")),
        ({"name": "Pharmacist"}, (409, "conflict", None)),
    ],
)
def test_create_refuses_bad_input_and_changes_nothing(
    world: World,
    call: Caller,
    overrides: dict[str, Any],
    expected: tuple[int, str, str | None],
) -> None:
    body = {"organisation": "FBR01", "name": "Dispenser", "job_roles": ["R8000"], **overrides}
    with unchanged_database():
        response = call("advanced", "post", POSITIONS, body)
    found = assert_error(response, *expected)
    if overrides.get("organisation") == "FCL01":
        assert "closed" in found["detail"]
    assert not Position.objects.filter(name="Dispenser").exists()
