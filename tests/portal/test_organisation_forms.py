"""Organisation pages, creating organisations, and creating positions at them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from cis.organisations.models import Organisation, OrganisationStatus
from cis.people.models import Person
from cis.rbac.models import Position
from tests.factories.directory import OrganisationFactory

from .conftest import World, counts

pytestmark = pytest.mark.django_db

CREATE = "/organisations/new/"


def _org(world: World, **overrides: str) -> dict[str, str]:
    data = {
        "ods_code": "FQ123",
        "name": "Quayside Pharmacy",
        "org_type": "community_pharmacy",
        "serving_ra": str(world.ra.pk),
        "parent": str(world.head_office.pk),
        "address": "1 Quay Street",
    }
    data.update(overrides)
    return data


def _refused(response: Any, message: str, anchor: str | None = None) -> None:
    html = response.content.decode()
    assert response.status_code == 200, response.status_code
    assert "There is a problem" in html
    assert message in html, html[html.find("nhsuk-error-summary") :][:1500]
    if anchor:
        assert f'href="#{anchor}"' in html


def test_the_organisation_page_shows_its_family_positions_and_staff(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    html = sign_in(world.ra_agent).get("/organisations/FBR01/").content.decode()
    for text in (
        "Chain branch",
        "Community pharmacy",
        'href="/organisations/FHO01/"',
        "Pharmacist",
        "Counter assistant",
        "Clinical Practitioner Access Role (R8000)",
        "Hana Holder",
        "Colm Colleague",
        "North RA",
    ):
        assert text in html, text
    html = sign_in(world.ra_agent).get("/organisations/FHO01/").content.decode()
    assert 'href="/organisations/FBR01/"' in html  # its child


def test_an_organisation_outside_scope_is_not_found(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    assert sign_in(world.ra_agent).get("/organisations/FEL01/").status_code == 404
    assert sign_in(world.lsa).get("/organisations/FEL01/").status_code == 404
    assert sign_in(world.ra_agent).get("/organisations/NOPE1/").status_code == 404


def test_a_holder_sees_their_own_organisation(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    client = sign_in(world.holder)
    assert client.get("/organisations/FBR01/").status_code == 200
    assert client.get("/organisations/FHO01/").status_code == 404


def test_an_ra_manager_creates_an_organisation(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    before = counts()
    response = sign_in(world.ra_manager).post(CREATE, _org(world, ods_code=" fq123 "))
    assert response["Location"] == "/organisations/FQ123/"
    org = Organisation.objects.get(ods_code="FQ123")
    assert org.parent == world.head_office
    assert counts()["audit_events"] == before["audit_events"] + 1


@pytest.mark.parametrize(
    ("overrides", "message", "anchor"),
    [
        (
            {"ods_code": "A81001"},
            "Enter an ODS code in the correct format for this type of organisation: "
            "five characters starting with F",
            "id_ods_code",
        ),
        (
            {"ods_code": "F-12!"},
            "Enter an ODS code in the correct format: 3 to 6 letters and digits",
            "id_ods_code",
        ),
        ({"ods_code": ""}, "Enter the ODS code.", "id_ods_code"),
        ({"ods_code": "FBR01"}, "An organisation with ODS code FBR01 already exists.", None),
        ({"name": ""}, "Enter the organisation&#x27;s name.", "id_name"),
        ({"org_type": ""}, "Choose the type of organisation.", "id_org_type"),
        ({"serving_ra": ""}, "Choose the Registration Authority that serves", "id_serving_ra"),
    ],
)
def test_bad_organisation_input_is_explained_and_changes_nothing(
    world: World,
    sign_in: Callable[[Person], Client],
    overrides: dict[str, str],
    message: str,
    anchor: str | None,
) -> None:
    before = counts()
    _refused(sign_in(world.ra_manager).post(CREATE, _org(world, **overrides)), message, anchor)
    assert counts() == before


def test_a_closed_parent_is_refused(world: World, sign_in: Callable[[Person], Client]) -> None:
    Organisation.objects.filter(pk=world.head_office.pk).update(status=OrganisationStatus.CLOSED)
    before = counts()
    _refused(sign_in(world.ra_manager).post(CREATE, _org(world)), "is closed, so it cannot have")
    assert counts() == before


@pytest.mark.parametrize("who", ["holder", "lsa", "ra_agent", "ra_agent_advanced"])
def test_only_ra_managers_and_the_service_desk_create_organisations(
    world: World, sign_in: Callable[[Person], Client], who: str
) -> None:
    client = sign_in(world.people[who])
    before = counts()
    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, _org(world)).status_code == 403
    assert counts() == before


def _position(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Pharmacy technician",
        "job_roles": ["R8000"],
        "activities": [],
        "workgroups": "Dispensary, Stores",
        "assignable": "on",
    }
    data.update(overrides)
    return data


def test_an_advanced_agent_creates_a_position(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    client = sign_in(world.ra_agent_advanced)
    assert "Create a position" in client.get("/organisations/FBR01/").content.decode()
    html = client.get("/organisations/FBR01/positions/new/").content.decode()
    assert "Clinical Practitioner Access Role (S8000:G8000:R8000)" in html
    response = client.post("/organisations/FBR01/positions/new/", _position())
    position = Position.objects.get(organisation=world.branch, name="Pharmacy technician")
    assert response["Location"] == f"/organisations/FBR01/positions/{position.pk}/"
    assert position.assignable
    assert position.workgroups == ["Dispensary", "Stores"]


@pytest.mark.parametrize(
    ("overrides", "message", "anchor"),
    [
        ({"job_roles": []}, "A position needs at least one job role.", "id_job_roles_0"),
        ({"name": " "}, "Enter the position&#x27;s name.", "id_name"),
        ({"name": "pharmacist"}, "FBR01 already has a position called", None),
        ({"job_roles": ["R9999"]}, "Select job roles", "id_job_roles_0"),
    ],
)
def test_bad_position_input_is_explained_and_changes_nothing(
    world: World,
    sign_in: Callable[[Person], Client],
    overrides: dict[str, Any],
    message: str,
    anchor: str | None,
) -> None:
    before = counts()
    response = sign_in(world.ra_agent_advanced).post(
        "/organisations/FBR01/positions/new/", _position(**overrides)
    )
    _refused(response, message, anchor)
    assert counts() == before


def test_a_position_at_a_closed_organisation_cannot_be_created(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    OrganisationFactory(
        ods_code="FCL01", serving_ra=world.ra, status=OrganisationStatus.CLOSED, name="Shut"
    )
    before = counts()
    response = sign_in(world.ra_agent_advanced).post(
        "/organisations/FCL01/positions/new/", _position()
    )
    _refused(response, "Shut (FCL01) is closed, so it cannot have new positions.")
    assert counts() == before


def test_a_plain_ra_agent_cannot_create_positions(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    client = sign_in(world.ra_agent)
    assert "Create a position" not in client.get("/organisations/FBR01/").content.decode()
    before = counts()
    assert client.get("/organisations/FBR01/positions/new/").status_code == 403
    assert client.post("/organisations/FBR01/positions/new/", _position()).status_code == 403
    assert counts() == before
