"""Organisations over the API: scoped lists and reads, and creation with every bad input refused."""

from __future__ import annotations

from typing import Any

import pytest

from cis.audit.models import AuditEvent
from tests.factories.directory import OrganisationFactory

from .conftest import Caller, World, assert_error, count_queries, unchanged_database

ORGS = "/api/v1/organisations/"


def _codes(body: dict[str, Any]) -> list[str]:
    return [row["ods_code"] for row in body["results"]]


def test_an_ra_agent_sees_the_organisations_their_ra_serves(world: World, call: Caller) -> None:
    assert _codes(call("agent", "get", ORGS).json()) == ["FBR01", "FCL01", "FHQ01"]


def test_an_lsa_sees_their_organisation(world: World, call: Caller) -> None:
    assert _codes(call("lsa", "get", ORGS).json()) == ["FBR01"]


def test_a_holder_sees_where_they_work(world: World, call: Caller) -> None:
    assert _codes(call("holder", "get", ORGS).json()) == ["FBR01"]


def test_search_by_name_or_exact_code(world: World, call: Caller) -> None:
    assert _codes(call("agent", "get", f"{ORGS}?q=chain").json()) == ["FBR01", "FHQ01"]
    assert _codes(call("agent", "get", f"{ORGS}?q=fhq01").json()) == ["FHQ01"]
    assert _codes(call("agent", "get", f"{ORGS}?q=FOT01").json()) == []


def test_the_list_takes_a_fixed_number_of_queries(
    world: World, call: Caller, django_assert_max_num_queries: Any
) -> None:
    few = count_queries(call, "agent", ORGS)
    for _ in range(12):
        OrganisationFactory(serving_ra=world.ra, parent=world.head)
    with django_assert_max_num_queries(few):
        body = call("agent", "get", ORGS).json()
    assert len(body["results"]) == 15
    assert few <= 8


def test_detail_names_parent_ra_and_status(world: World, call: Caller) -> None:
    body = call("agent", "get", f"{ORGS}fbr01/").json()
    assert body == {
        "ods_code": "FBR01",
        "name": "Chain Branch",
        "org_type": "community_pharmacy",
        "status": "open",
        "closed_on": None,
        "address": "",
        "parent": {"ods_code": "FHQ01", "name": "Chain Head Office"},
        "serving_ra": {"code": "RA1", "name": "North RA"},
        "geography": "",
    }
    closed = call("agent", "get", f"{ORGS}FCL01/").json()
    assert closed["status"] == "closed"
    assert closed["closed_on"]


@pytest.mark.parametrize("bad", ["F!", "TOOLONG1", "F-L49"])
def test_a_malformed_ods_code_in_the_path_is_a_400(world: World, call: Caller, bad: str) -> None:
    body = assert_error(call("agent", "get", f"{ORGS}{bad}/"), 400, "validation_failed", "ods_code")
    assert "ODS code" in body["detail"]


def test_absent_and_out_of_sight_read_the_same(world: World, call: Caller) -> None:
    missing = call("agent", "get", f"{ORGS}FZZ99/").json()
    hidden = call("agent", "get", f"{ORGS}FOT01/").json()
    assert missing["error"] == hidden["error"] == "not_found"
    assert missing["detail"].replace("FZZ99", "X") == hidden["detail"].replace("FOT01", "X")


def _new(**overrides: Any) -> dict[str, Any]:
    return {
        "ods_code": "FNW01",
        "name": "New Branch",
        "org_type": "community_pharmacy",
        "serving_ra": "RA1",
        "parent": "FHQ01",
        **overrides,
    }


def test_create_an_organisation_under_a_parent(world: World, call: Caller) -> None:
    response = call("manager", "post", ORGS, _new(ods_code="fnw01", address=" 1 High St "))
    assert response.status_code == 201, response.json()
    assert response.json()["ods_code"] == "FNW01"
    assert response.json()["parent"]["ods_code"] == "FHQ01"
    assert response.json()["address"] == "1 High St"
    event = AuditEvent.objects.get(action="organisation.create")
    assert event.organisation_ref == "FNW01"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"ods_code": "F1"}, (400, "validation_failed", "ods_code")),
        ({"ods_code": "F$L49"}, (400, "validation_failed", "ods_code")),
        ({"ods_code": "A81001"}, (400, "validation_failed", "ods_code")),  # not a pharmacy's shape
        ({"ods_code": "FLM49", "org_type": "gp_practice"}, (400, "validation_failed", "ods_code")),
        ({"ods_code": "RRKX", "org_type": "nhs_trust"}, (400, "validation_failed", "ods_code")),
        ({"parent": "??"}, (400, "validation_failed", "parent")),
        ({"org_type": "shop"}, (400, "validation_failed", "org_type")),
        ({"name": ""}, (400, "validation_failed", "name")),
        ({"serving_ra": "NOPE"}, (404, "not_found", "serving_ra")),
        ({"parent": "FZZ99"}, (404, "not_found", "parent")),
        ({"parent": "FCL01"}, (409, "invalid_state", None)),
        ({"ods_code": "FBR01"}, (409, "conflict", None)),
    ],
)
def test_create_refuses_bad_input_and_changes_nothing(
    world: World,
    call: Caller,
    overrides: dict[str, Any],
    expected: tuple[int, str, str | None],
) -> None:
    with unchanged_database():
        response = call("manager", "post", ORGS, _new(**overrides))
    assert_error(response, *expected)


def test_shapes_per_type_are_accepted(world: World, call: Caller) -> None:
    gp = call("desk", "post", ORGS, _new(ods_code="A81001", org_type="gp_practice", parent=None))
    assert gp.status_code == 400  # parent: null is not an ODS code
    gp = call("desk", "post", ORGS, {**_new(ods_code="A81001", org_type="gp_practice")})
    assert gp.status_code == 201, gp.json()
    trust = _new(ods_code="RRK", org_type="nhs_trust", serving_ra="RA2")
    del trust["parent"]
    assert call("desk", "post", ORGS, trust).status_code == 201
