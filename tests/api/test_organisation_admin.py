"""Organisation upkeep and Registration Authorities over the API, every refusal changing nothing."""

from __future__ import annotations

import pytest

from cis.audit.models import AuditEvent
from cis.organisations.models import Organisation, OrganisationStatus, RegistrationAuthority

from .conftest import Caller, World, assert_error, unchanged_database

ORGS = "/api/v1/organisations/"
RAS = "/api/v1/registration-authorities/"

pytestmark = pytest.mark.django_db


def test_the_ra_manager_updates_closes_reopens_and_moves(world: World, call: Caller) -> None:
    body = call("manager", "patch", f"{ORGS}FBR01/", {"address": "2 High St", "geography": "qwo"})
    assert (body.status_code, body.json()["geography"]) == (200, "QWO")
    assert call("manager", "post", f"{ORGS}FBR01/close/").json()["status"] == "closed"
    assert call("manager", "post", f"{ORGS}FBR01/reopen/").json()["status"] == "open"
    moved = call("manager", "post", f"{ORGS}FBR01/move/", {"parent": None})
    assert moved.status_code == 200 and moved.json()["parent"] is None
    back = call("manager", "post", f"{ORGS}FBR01/move/", {"parent": "FHQ01"})
    assert back.json()["parent"]["ods_code"] == "FHQ01"
    assert list(AuditEvent.objects.filter(target_ref="FBR01").values_list("action", flat=True))[
        -5:
    ] == [
        "organisation.update",
        "organisation.close",
        "organisation.reopen",
        "organisation.move",
        "organisation.move",
    ]


@pytest.mark.parametrize(
    "case",
    [
        ("agent", "patch", "FBR01/", {"name": "x"}, 403, "not_permitted"),
        ("manager", "patch", "FOT01/", {"name": "x"}, 404, "not_found"),
        ("manager", "patch", "FBR01/", {"name": ""}, 400, "validation_failed"),
        ("manager", "patch", "FBR01/", {"geography": "Q?"}, 400, "validation_failed"),
        ("manager", "post", "FHQ01/close/", None, 409, "invalid_state"),
        ("manager", "post", "FBR01/reopen/", None, 409, "invalid_state"),
        ("manager", "post", "FBR01/move/", {"parent": "FOT01"}, 404, "not_found"),
        ("manager", "post", "FBR01/move/", {"serving_ra": "RA2"}, 403, "not_permitted"),
        ("manager", "post", "FHQ01/move/", {"parent": "FBR01"}, 409, "invalid_state"),
        ("manager", "post", "FBR01/move/", {"parent": "FCL01"}, 409, "invalid_state"),
        ("holder", "post", "FBR01/close/", None, 403, "not_permitted"),
    ],
)
def test_refusals_change_nothing(
    world: World, call: Caller, case: tuple[str, str, str, object, int, str]
) -> None:
    who, method, path, body, status, error = case
    with unchanged_database():
        assert_error(call(who, method, f"{ORGS}{path}", body), status, error)


def test_the_service_desk_moves_between_ras(world: World, call: Caller) -> None:
    body = call("desk", "post", f"{ORGS}FOT01/move/", {"serving_ra": "RA1"})
    assert body.json()["serving_ra"]["code"] == "RA1"
    assert Organisation.objects.get(ods_code="FOT01").serving_ra == world.ra


def test_ras_are_listed_for_anyone_signed_in_and_kept_by_the_service_desk(
    world: World, call: Caller
) -> None:
    listed = call("holder", "get", RAS).json()["results"]
    assert [r["code"] for r in listed] == ["RA1", "RA2"]
    assert_error(call(None, "get", RAS), 403, "not_authenticated")
    created = call(
        "desk",
        "post",
        RAS,
        {"code": "ra-w", "name": "West RA", "phone": "0117 496 0000", "geographies": ["quy"]},
    )
    assert created.status_code == 201, created.json()
    assert created.json()["geographies"] == ["QUY"]
    changed = call(
        "desk",
        "patch",
        f"{RAS}RA-W/",
        {"hours": "Weekdays 8am to 6pm", "email": "w@example.nhs.uk"},
    )
    assert changed.json()["hours"] == "Weekdays 8am to 6pm"
    assert call("holder", "get", f"{RAS}RA-W/").json()["email"] == "w@example.nhs.uk"
    with unchanged_database():
        assert_error(call("manager", "patch", f"{RAS}RA1/", {"phone": "0"}), 403, "not_permitted")
        assert_error(
            call("desk", "patch", f"{RAS}RA1/", {"phone": "ring"}),
            400,
            "validation_failed",
            "phone",
        )
        assert_error(
            call("desk", "post", RAS, {"code": "RA1", "name": "Again"}), 409, "conflict", "code"
        )
        assert_error(
            call("desk", "patch", f"{RAS}RA1/", {"geographies": ["QUY"]}),
            409,
            "conflict",
            "geographies",
        )
        assert_error(call("desk", "get", f"{RAS}NOPE/"), 404, "not_found")
    assert RegistrationAuthority.objects.get(code="RA-W").phone == "0117 496 0000"
    assert Organisation.objects.filter(status=OrganisationStatus.OPEN).count() == 3
