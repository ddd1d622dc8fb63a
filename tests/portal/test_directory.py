"""The directory: only people and organisations in scope, found without N+1 queries."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cis.people.models import Person
from tests.factories.directory import AssignmentFactory, PersonFactory

from .conftest import World

pytestmark = pytest.mark.django_db

SEARCH = "/people/"


def test_an_ra_agent_finds_the_people_in_their_ra_area_only(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    html = sign_in(world.ra_agent).get(SEARCH, {"q": "Holder"}).content.decode()
    assert f'href="/people/{world.holder.user_id}/"' in html
    assert "HOLDER, Hana" in html
    html = sign_in(world.ra_agent).get(SEARCH, {"q": "Outsider"}).content.decode()
    assert world.outsider.user_id not in html
    assert "Nobody you can see matches" in html


def test_an_lsa_sees_only_the_people_at_their_organisation(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    html = sign_in(world.lsa).get(SEARCH).content.decode()
    assert world.holder.user_id in html
    assert world.colleague.user_id in html
    assert world.outsider.user_id not in html
    assert world.ra_manager.user_id not in html  # works at the head office, not the branch


def test_a_holder_without_rights_cannot_search(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    response = sign_in(world.holder).get(SEARCH, {"q": "Colleague"})
    assert response.status_code == 403
    assert "You cannot do this" in response.content.decode()
    assert world.colleague.user_id not in response.content.decode()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("12345", "Enter a user id in the correct format: it must be exactly 12 digits"),
        ("55500000000X", "Enter a user id in the correct format: it must be exactly 12 digits"),
        ("", "Enter a user id."),
    ],
)
def test_a_malformed_user_id_is_explained(
    world: World, sign_in: Callable[[Person], Client], typed: str, message: str
) -> None:
    response = sign_in(world.ra_agent).get(SEARCH, {"user_id": typed})
    html = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in html
    assert message in html
    assert 'href="#id_user_id"' in html


def test_a_user_id_goes_straight_to_the_person(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    user_id = world.holder.user_id
    spaced = f"{user_id[:4]} {user_id[4:8]} {user_id[8:]}"
    response = sign_in(world.ra_agent).get(SEARCH, {"user_id": spaced})
    assert response["Location"] == f"/people/{user_id}/"


def test_an_out_of_scope_user_id_reads_as_not_found(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    client = sign_in(world.ra_agent)
    response = client.get(SEARCH, {"user_id": world.outsider.user_id}, follow=True)
    assert response.status_code == 404


def _search_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(SEARCH, {"q": "Bulk"})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_results_page_does_not_grow_queries_with_its_rows(
    world: World,
    sign_in: Callable[[Person], Client],
    django_assert_max_num_queries: Any,
) -> None:
    client = sign_in(world.ra_agent)
    AssignmentFactory(
        person=PersonFactory(family_name="Bulk", registered_ra=world.ra),
        position=world.pharmacist,
    )
    few = _search_queries(client)
    assert few <= 15, few  # session, user, grants and scope, the search, the menu
    for _ in range(30):
        AssignmentFactory(
            person=PersonFactory(family_name="Bulk", registered_ra=world.ra),
            position=world.pharmacist,
        )
    with django_assert_max_num_queries(few):
        html = client.get(SEARCH, {"q": "Bulk"}).content.decode()
    # 25 to a page, with the way to the rest.
    assert html.count("BULK, ") == 25
    following = re.search(r'href="(\?[^"]*cursor=[^"]*)" rel="next"', html)
    assert following is not None
    second = client.get(SEARCH + following.group(1).replace("&amp;", "&")).content.decode()
    assert second.count("BULK, ") == 6
    assert 'rel="prev"' in second
    assert 'rel="next"' not in second


def test_the_organisation_list_shows_only_organisations_in_scope(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    html = sign_in(world.ra_agent).get("/organisations/").content.decode()
    assert "FBR01" in html and "FHO01" in html
    assert "FEL01" not in html
    assert "Create an organisation" not in html
    html = sign_in(world.ra_manager).get("/organisations/", {"q": "fbr01"}).content.decode()
    assert "FBR01" in html and "FHO01" not in html
    assert "Create an organisation" in html


def test_a_holder_cannot_list_organisations(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    assert sign_in(world.holder).get("/organisations/").status_code == 403


def test_the_results_come_in_pages_at_a_fixed_query_cost(
    world: World,
    sign_in: Callable[[Person], Client],
    django_assert_max_num_queries: Any,
) -> None:
    client = sign_in(world.ra_agent)
    for _ in range(120):
        AssignmentFactory(
            person=PersonFactory(family_name="Bulk", registered_ra=world.ra),
            position=world.pharmacist,
        )
    ceiling = 15  # session, user, grants and scope, one page of the search, the menu
    seen: list[str] = []
    url = f"{SEARCH}?q=Bulk"
    pages = 0
    while url:
        with django_assert_max_num_queries(ceiling):
            html = client.get(url).content.decode()
        pages += 1
        seen += re.findall(r'href="/people/(\d{12})/"', html)
        following = re.search(r'href="\?([^"]+)" rel="next"', html)
        url = f"{SEARCH}?{following.group(1).replace('&amp;', '&')}" if following else ""
    assert pages == 5  # 25 a page
    assert len(seen) == 120
    assert len(set(seen)) == 120


def test_a_damaged_page_link_starts_from_the_first_page(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    response = sign_in(world.ra_agent).get(SEARCH, {"q": "Holder", "cursor": "garbage!"})
    assert response.status_code == 200
    assert f'href="/people/{world.holder.user_id}/"' in response.content.decode()
