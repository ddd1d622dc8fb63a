"""CIS rights over the API: scoped reads, granting and revoking, and bad grants refused."""

from __future__ import annotations

from typing import Any

import pytest

from cis.audit.models import AuditEvent
from cis.rights.models import RightGrant
from tests.factories.directory import AssignmentFactory, PersonFactory, RightGrantFactory

from .conftest import Caller, World, assert_error, count_queries, unchanged_database

RIGHTS = "/api/v1/rights/"


def _held(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(row["person"]["user_id"], row["right"]) for row in body["results"]}


def test_a_holder_sees_only_their_own_rights(world: World, call: Caller) -> None:
    assert _held(call("lsa", "get", f"{RIGHTS}?person={world.lsa.user_id}").json()) == {
        (world.lsa.user_id, "lsa")
    }
    assert call("holder", "get", RIGHTS).json()["count"] == 0


def test_an_ra_manager_sees_the_rights_in_their_area(world: World, call: Caller) -> None:
    held = _held(call("manager", "get", RIGHTS).json())
    assert (world.lsa.user_id, "lsa") in held
    assert (world.agent.user_id, "ra_agent") in held
    assert (world.manager2.user_id, "ra_manager") not in held


def test_the_list_takes_a_fixed_number_of_queries(
    world: World, call: Caller, django_assert_max_num_queries: Any
) -> None:
    few = count_queries(call, "manager", RIGHTS)
    for _ in range(10):
        person = PersonFactory()
        AssignmentFactory(person=person, position=world.counter)
        RightGrantFactory(person=person, organisation=world.branch, granted_by=world.manager)
    with django_assert_max_num_queries(few):
        body = call("manager", "get", f"{RIGHTS}?limit=100").json()
    assert body["count"] >= 15
    assert few <= 10


def test_grant_and_revoke(world: World, call: Caller) -> None:
    granted = call(
        "manager",
        "post",
        RIGHTS,
        {"person": world.colleague.user_id, "right": "sponsor", "organisation": "FBR01"},
    )
    assert granted.status_code == 201, granted.json()
    body = granted.json()
    assert body["right_label"] == "Sponsor"
    assert body["granted_by"]["user_id"] == world.manager.user_id
    detail = call("manager", "get", f"{RIGHTS}{body['id']}/").json()
    assert detail == body
    revoked = call("manager", "post", f"{RIGHTS}{body['id']}/revoke/", {"reason": "Moved"})
    assert revoked.status_code == 200, revoked.json()
    assert revoked.json()["revoked_at"]
    event = AuditEvent.objects.filter(action="right.revoke").get()
    assert event.after["reason"] == "Moved"


def test_an_ra_wide_grant(world: World, call: Caller) -> None:
    response = call(
        "manager",
        "post",
        RIGHTS,
        {"person": world.colleague.user_id, "right": "ra_agent", "ra": "ra1"},
    )
    assert response.status_code == 201, response.json()
    assert response.json()["ra"] == {"code": "RA1", "name": "North RA"}
    assert response.json()["scope_label"] == "every organisation served by North RA"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"start_date": "2030-01-10", "end_date": "2030-01-09"},
            (400, "validation_failed", "end_date"),
        ),
        ({"end_date": "2000-01-01"}, (400, "validation_failed", "end_date")),
        ({"right": "god"}, (400, "validation_failed", "right")),
        ({"organisation": "F#1"}, (400, "validation_failed", "organisation")),
        ({"person": "0"}, (400, "validation_failed", "person")),
        ({"organisation": None}, (400, "validation_failed", "organisation")),
        ({"ra": "RA1"}, (400, "validation_failed", None)),  # an organisation and an RA
        ({"organisation": "FCL01"}, (409, "invalid_state", None)),
        ({"right": "service_desk"}, (400, "validation_failed", None)),
        ({"right": "ra_manager"}, (403, "not_permitted", None)),  # above what they may grant
    ],
)
def test_grant_refuses_bad_input_and_changes_nothing(
    world: World,
    call: Caller,
    overrides: dict[str, Any],
    expected: tuple[int, str, str | None],
) -> None:
    body = {"person": world.colleague.user_id, "right": "lsa", "organisation": "FBR01", **overrides}
    with unchanged_database():
        response = call("manager", "post", RIGHTS, body)
    assert_error(response, *expected)


def test_an_unknown_ra_is_not_found(world: World, call: Caller) -> None:
    body = {"person": world.colleague.user_id, "right": "lsa", "ra": "NOPE"}
    with unchanged_database():
        assert_error(call("manager", "post", RIGHTS, body), 404, "not_found", "ra")


def test_the_same_right_twice_is_a_conflict(world: World, call: Caller) -> None:
    body = {"person": world.lsa.user_id, "right": "lsa", "organisation": "FBR01"}
    with unchanged_database():
        assert_error(call("manager", "post", RIGHTS, body), 409, "conflict")


def test_revoking_twice_is_a_409(world: World, call: Caller) -> None:
    url = f"{RIGHTS}{world.lsa_grant.pk}/revoke/"
    assert call("manager", "post", url, {}).status_code == 200
    with unchanged_database():
        assert_error(call("manager", "post", url, {}), 409, "invalid_state")
    assert RightGrant.objects.get(pk=world.lsa_grant.pk).revoked_at is not None
