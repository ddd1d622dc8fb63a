"""A person's page: what an administrator may see, and only the actions the policy allows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from cis.authz.policy import CONSOLE
from cis.people.models import Person
from cis.people.services import person_update_details

from .conftest import World

pytestmark = pytest.mark.django_db

ACTION_LINKS = {
    "verify": "Record an identity check",
    "assign": "Add a position",
    "grant": "Grant a right",
    "close": "Close this profile",
}


def _page(client: Client, person: Person) -> str:
    response = client.get(f"/people/{person.user_id}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_person_page_shows_details_positions_and_rights(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    html = _page(sign_in(world.ra_agent), world.lsa)
    for text in (
        "Lsa Admin",
        world.lsa.user_id,
        "Office staff",
        "Chain head office",
        "Local Smartcard Administrator",
        "Chain branch (FBR01)",
        "Identity checks",
    ):
        assert text in html, text


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("lsa", set()),
        ("sponsor", {"assign"}),
        ("id_checker", {"verify"}),
        ("ra_agent", {"verify", "assign", "close"}),
        ("ra_manager", {"verify", "assign", "grant", "close"}),
        ("service_desk", {"grant"}),
    ],
)
def test_only_the_actions_the_policy_allows_are_offered(
    world: World, sign_in: Callable[[Person], Client], who: str, allowed: set[str]
) -> None:
    html = _page(sign_in(world.people[who]), world.holder)
    for key, label in ACTION_LINKS.items():
        assert (label in html) == (key in allowed), (who, key)


def test_the_end_link_is_offered_only_where_the_policy_allows(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    assignment = world.holder.assignments.get()
    end_url = f"/people/{world.holder.user_id}/positions/{assignment.pk}/end/"
    assert end_url in _page(sign_in(world.ra_agent), world.holder)
    # The pharmacist post is not assignable, so a Sponsor cannot end it either.
    assert end_url not in _page(sign_in(world.sponsor), world.holder)


def test_a_person_outside_the_actors_scope_is_not_found(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    for who in ("ra_agent", "lsa", "ra_manager"):
        client = sign_in(world.people[who])
        assert client.get(f"/people/{world.outsider.user_id}/").status_code == 404
    assert sign_in(world.ra_agent).get("/people/999999999999/").status_code == 404
    assert sign_in(world.ra_agent).get("/people/not-an-id/").status_code == 404


def test_a_holder_sees_their_own_page_but_nobody_elses(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    client = sign_in(world.holder)
    html = _page(client, world.holder)
    assert not any(label in html for label in ACTION_LINKS.values())
    assert client.get(f"/people/{world.colleague.user_id}/").status_code == 404


def test_recent_changes_are_shown_to_those_who_may_read_the_audit_trail(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    person_update_details(
        actor=CONSOLE, person=world.holder, professional_body="GPhC", professional_number="2081234"
    )
    html = _page(sign_in(world.service_desk), world.holder)
    assert "Recent changes" in html
    # As a sentence, never the action's internal name or the rule.
    assert "changed the personal details of Hana Holder" in html
    assert "person.update_details" not in html
    assert "console-operator" not in html
    assert "Recent changes" not in _page(sign_in(world.ra_agent), world.holder)
