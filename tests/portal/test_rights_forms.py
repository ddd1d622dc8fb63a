"""Granting and revoking CIS rights: rank, scope and separation of duties, from the policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from cis.people.models import Person
from cis.rights.models import Right, RightGrant

from .conftest import World, counts, date_parts, days

pytestmark = pytest.mark.django_db


def _grant(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "right": "lsa",
        "organisation": "",
        "ra": "",
        **date_parts("start_date", None),
        **date_parts("end_date", None),
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


def test_an_ra_manager_grants_an_lsa_right_at_a_branch(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    url = f"/people/{world.holder.user_id}/rights/new/"
    client = sign_in(world.ra_manager)
    assert "Grant a right" in client.get(url).content.decode()
    before = counts()
    response = client.post(url, _grant(organisation=str(world.branch.pk)), follow=True)
    assert "Hana Holder now holds Local Smartcard Administrator" in response.content.decode()
    grant = RightGrant.objects.get(person=world.holder)
    assert grant.right == Right.LSA and grant.organisation == world.branch
    assert counts()["audit_events"] == before["audit_events"] + 1


@pytest.mark.parametrize(
    ("overrides", "message", "anchor"),
    [
        ({}, "Choose the organisation or RA this right covers.", "id_organisation"),
        ({"right": ""}, "Choose the right to grant.", "id_right"),
        (
            {"organisation": "BRANCH", "ra": "RA"},
            "Scope a right to an organisation or to an RA",
            None,
        ),
        (
            {
                "organisation": "BRANCH",
                **date_parts("start_date", days(10)),
                **date_parts("end_date", days(5)),
            },
            "End date must be the same as or after the start date",
            "id_end_date_day",
        ),
    ],
)
def test_bad_grant_input_is_explained_and_changes_nothing(
    world: World,
    sign_in: Callable[[Person], Client],
    overrides: dict[str, Any],
    message: str,
    anchor: str | None,
) -> None:
    lookups = {"BRANCH": str(world.branch.pk), "RA": str(world.ra.pk)}
    data = _grant(
        **{k: lookups.get(v, v) if isinstance(v, str) else v for k, v in overrides.items()}
    )
    before = counts()
    response = sign_in(world.ra_manager).post(f"/people/{world.holder.user_id}/rights/new/", data)
    _refused(response, message, anchor)
    assert counts() == before


def test_nobody_grants_above_their_own_rank(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    before = counts()
    response = sign_in(world.ra_manager).post(
        f"/people/{world.holder.user_id}/rights/new/", _grant(right="service_desk")
    )
    assert response.status_code == 403
    assert counts() == before


def test_nobody_grants_themselves_a_right(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    url = f"/people/{world.ra_manager.user_id}/rights/new/"
    client = sign_in(world.ra_manager)
    before = counts()
    assert client.get(url).status_code == 403
    assert client.post(url, _grant(organisation=str(world.branch.pk))).status_code == 403
    assert counts() == before


@pytest.mark.parametrize("who", ["holder", "lsa", "ra_agent", "ra_agent_advanced"])
def test_people_without_the_right_cannot_grant(
    world: World, sign_in: Callable[[Person], Client], who: str
) -> None:
    url = f"/people/{world.colleague.user_id}/rights/new/"
    client = sign_in(world.people[who])
    before = counts()
    assert client.get(url).status_code in (403, 404)
    assert client.post(url, _grant(organisation=str(world.branch.pk))).status_code in (403, 404)
    assert counts() == before


def test_revoking_a_right(world: World, sign_in: Callable[[Person], Client]) -> None:
    grant = RightGrant.objects.get(person=world.lsa)
    url = f"/people/{world.lsa.user_id}/rights/{grant.pk}/revoke/"
    assert url in sign_in(world.ra_manager).get(f"/people/{world.lsa.user_id}/").content.decode()
    client = sign_in(world.ra_manager)
    response = client.post(url, {"reason": "Moved on"})
    assert response["Location"] == f"/people/{world.lsa.user_id}/"
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    # The right is gone from the page, so there is nothing to revoke twice.
    assert client.post(url, {"reason": "again"}).status_code == 404


def test_an_ra_agent_cannot_revoke(world: World, sign_in: Callable[[Person], Client]) -> None:
    grant = RightGrant.objects.get(person=world.lsa)
    url = f"/people/{world.lsa.user_id}/rights/{grant.pk}/revoke/"
    client = sign_in(world.ra_agent)
    assert url not in client.get(f"/people/{world.lsa.user_id}/").content.decode()
    before = counts()
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "x"}).status_code == 403
    assert counts() == before
