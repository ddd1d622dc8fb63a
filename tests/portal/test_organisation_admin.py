"""The organisation's admin pages (change, move, close, reopen) and the RA pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from cis.audit.models import AuditEvent
from cis.organisations.models import Organisation, OrganisationStatus, RegistrationAuthority
from cis.people.models import Person

from .conftest import World, counts

pytestmark = pytest.mark.django_db


def test_the_ra_manager_is_offered_the_changes_and_an_lsa_is_not(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    html = sign_in(world.ra_manager).get("/organisations/FBR01/").content.decode()
    for link in ("change/", "move/", "close/"):
        assert f'href="/organisations/FBR01/{link}"' in html
    assert "/reopen/" not in html
    html = sign_in(world.lsa).get("/organisations/FBR01/").content.decode()
    assert "/organisations/FBR01/change/" not in html
    assert sign_in(world.lsa).get("/organisations/FBR01/close/").status_code == 403


def test_change_move_close_reopen_in_the_portal(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    client = sign_in(world.ra_manager)
    page = client.get("/organisations/FBR01/change/")
    assert 'value="Chain branch"' in page.content.decode()
    response = client.post(
        "/organisations/FBR01/change/",
        {"name": "Chain branch (Market St)", "address": "1 Market St", "geography": "QWO"},
    )
    assert response.status_code == 302
    org = Organisation.objects.get(ods_code="FBR01")
    assert (org.name, org.address, org.geography) == (
        "Chain branch (Market St)",
        "1 Market St",
        "QWO",
    )
    followed = client.get(response["Location"]).content.decode()
    assert "details have been changed" in followed

    response = client.post("/organisations/FBR01/move/", {"parent": ""})
    assert response.status_code == 302
    assert Organisation.objects.get(ods_code="FBR01").parent is None
    assert "serving_ra" not in client.get("/organisations/FBR01/move/").context["form"].fields

    assert client.post("/organisations/FBR01/close/", {}).status_code == 302
    assert Organisation.objects.get(ods_code="FBR01").status == OrganisationStatus.CLOSED
    assert (
        'href="/organisations/FBR01/reopen/"'
        in client.get("/organisations/FBR01/").content.decode()
    )
    assert client.post("/organisations/FBR01/reopen/", {}).status_code == 302
    assert Organisation.objects.get(ods_code="FBR01").status == OrganisationStatus.OPEN
    assert list(AuditEvent.objects.filter(target_ref="FBR01").values_list("action", flat=True))[
        -4:
    ] == ["organisation.update", "organisation.move", "organisation.close", "organisation.reopen"]


def test_a_refused_close_shows_why_and_changes_nothing(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    client = sign_in(world.ra_manager)
    before = counts()
    response = client.post("/organisations/FHO01/close/", {})
    html = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in html and "Close its child organisations first: FBR01" in html
    assert counts() == before


def test_out_of_scope_organisations_are_not_found(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    client = sign_in(world.ra_manager)
    for path in ("change/", "move/", "close/", "reopen/"):
        assert client.get(f"/organisations/FEL01/{path}").status_code == 404


def test_the_service_desk_moves_an_organisation_to_another_ra(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    client = sign_in(world.service_desk)
    form = client.get("/organisations/FEL01/move/").context["form"]
    assert "serving_ra" in form.fields
    response = client.post(
        "/organisations/FEL01/move/", {"parent": "", "serving_ra": str(world.ra.pk)}
    )
    assert response.status_code == 302
    assert Organisation.objects.get(ods_code="FEL01").serving_ra == world.ra


def test_everyone_sees_how_to_reach_an_ra_and_the_service_desk_edits_it(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    html = sign_in(world.holder).get("/registration-authorities/").content.decode()
    assert 'href="/registration-authorities/RA-N/"' in html and "Add a Registration" not in html
    assert sign_in(world.holder).get("/registration-authorities/RA-N/change/").status_code == 403
    desk = sign_in(world.service_desk)
    response = desk.post(
        "/registration-authorities/RA-N/change/",
        {
            "name": "North RA",
            "email": "north.ra@example.nhs.uk",
            "phone": "0113 496 0000",
            "hours": "Monday to Friday, 9am to 5pm",
            "address": "1 Park Row, Leeds",
            "geographies": "QWO, 02T",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    ra = RegistrationAuthority.objects.get(code="RA-N")
    assert (ra.phone, ra.geographies) == ("0113 496 0000", ["02T", "QWO"])
    html = sign_in(world.holder).get("/registration-authorities/RA-N/").content.decode()
    for text in ("north.ra@example.nhs.uk", "0113 496 0000", "Monday to Friday", "02T, QWO"):
        assert text in html
    desk = sign_in(world.service_desk)  # one test client: sign the service desk in again
    before = counts()
    response = desk.post(
        "/registration-authorities/RA-N/change/", {"name": "North RA", "phone": "ring us"}
    )
    assert "is not a telephone number" in response.content.decode()
    assert counts() == before
    response = desk.post(
        "/registration-authorities/new/", {"code": "RA-W", "name": "West RA", "geographies": "QUY"}
    )
    assert response.status_code == 302
    assert RegistrationAuthority.objects.get(code="RA-W").geographies == ["QUY"]
