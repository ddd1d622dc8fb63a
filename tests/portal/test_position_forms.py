"""Adding a position to a person and ending it: dates checked, closed organisations refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from cis.organisations.models import Organisation, OrganisationStatus
from cis.people.models import Person, PersonStatus
from cis.rbac.models import PositionAssignment
from tests.factories.directory import AssignmentFactory, PersonFactory, PositionFactory

from .conftest import World, counts, date_parts, days

pytestmark = pytest.mark.django_db


def _add(world: World, position_pk: int, start: Any = None, end: Any = None) -> dict[str, str]:
    return {
        "position": str(position_pk),
        **date_parts("start_date", start),
        **date_parts("end_date", end),
    }


def _refused(response: Any, message: str, anchor: str | None = None) -> None:
    html = response.content.decode()
    assert response.status_code == 200, response.status_code
    assert "There is a problem" in html
    assert message in html, html[html.find("nhsuk-error-summary") :][:1500]
    if anchor:
        assert f'href="#{anchor}"' in html


def test_an_ra_agent_gives_a_person_a_position(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    url = f"/people/{world.colleague.user_id}/positions/new/"
    client = sign_in(world.ra_agent)
    html = client.get(url).content.decode()
    assert "Counter assistant at Chain branch (FBR01)" in html
    assert "Far pharmacy" not in html  # outside the agent's RA
    before = counts()
    response = client.post(url, _add(world, world.counter_assistant.pk, None, days(90)))
    assert response["Location"] == f"/people/{world.colleague.user_id}/"
    assignment = PositionAssignment.objects.get(
        person=world.colleague, position=world.counter_assistant
    )
    assert assignment.end_date == days(90)
    assert counts()["audit_events"] == before["audit_events"] + 1


def test_an_end_date_before_the_start_is_refused(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    before = counts()
    response = sign_in(world.ra_agent).post(
        f"/people/{world.colleague.user_id}/positions/new/",
        _add(world, world.counter_assistant.pk, days(10), days(5)),
    )
    _refused(response, "End date must be the same as or after the start date", "id_end_date_day")
    assert counts() == before


def test_a_position_at_a_closed_organisation_is_refused(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    closed = PositionFactory(organisation=world.branch, name="Locum")
    Organisation.objects.filter(pk=world.branch.pk).update(status=OrganisationStatus.CLOSED)
    # Branch staff no longer count as in scope through it, so use the RA-wide agent on someone
    # registered with the RA.
    person = PersonFactory(registered_ra=world.ra, given_name="Nia", family_name="New")
    client = sign_in(world.ra_agent)
    html = client.get(f"/people/{person.user_id}/positions/new/").content.decode()
    assert "Locum at Chain branch (FBR01) (organisation closed)" in html
    before = counts()
    response = client.post(f"/people/{person.user_id}/positions/new/", _add(world, closed.pk))
    _refused(response, "Chain branch (FBR01) is closed: its positions cannot be assigned.")
    assert counts() == before


def test_a_restricted_person_cannot_hold_a_position(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    person = PersonFactory(registered_ra=world.ra, status=PersonStatus.RESTRICTED)
    before = counts()
    response = sign_in(world.ra_agent).post(
        f"/people/{person.user_id}/positions/new/", _add(world, world.pharmacist.pk)
    )
    _refused(response, "identity has not been verified")
    assert counts() == before


def test_a_position_that_is_not_offered_cannot_be_chosen(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    before = counts()
    response = sign_in(world.ra_agent).post(
        f"/people/{world.colleague.user_id}/positions/new/",
        _add(world, world.far_pharmacist.pk),
    )
    _refused(response, "Choose a position from the list.", "id_position")
    assert counts() == before


def test_a_sponsor_may_give_only_assignable_positions(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    url = f"/people/{world.colleague.user_id}/positions/new/"
    client = sign_in(world.sponsor)
    html = client.get(url).content.decode()
    assert "Counter assistant" in html
    assert ">Pharmacist at" not in html
    before = counts()
    _refused(client.post(url, _add(world, world.pharmacist.pk)), "Choose a position from the list.")
    assert counts() == before
    assert client.post(url, _add(world, world.counter_assistant.pk)).status_code == 302


@pytest.mark.parametrize("who", ["holder", "lsa", "id_checker"])
def test_people_without_the_right_cannot_add_positions(
    world: World, sign_in: Callable[[Person], Client], who: str
) -> None:
    url = f"/people/{world.colleague.user_id}/positions/new/"
    client = sign_in(world.people[who])
    before = counts()
    assert client.get(url).status_code in (403, 404)
    assert client.post(url, _add(world, world.counter_assistant.pk)).status_code in (403, 404)
    assert counts() == before


def test_ending_a_position(world: World, sign_in: Callable[[Person], Client]) -> None:
    assignment = world.colleague.assignments.get()
    url = f"/people/{world.colleague.user_id}/positions/{assignment.pk}/end/"
    client = sign_in(world.ra_agent)
    assert "Pharmacist" in client.get(url).content.decode()
    before = counts()
    day_before_start = assignment.start_date - dt.timedelta(days=1)
    _refused(
        client.post(url, date_parts("end_date", day_before_start)),
        "End date must be the same as or after the start date",
        "id_end_date_day",
    )
    assert counts() == before
    response = client.post(url, date_parts("end_date", None))
    assert response["Location"] == f"/people/{world.colleague.user_id}/"
    assignment.refresh_from_db()
    assert assignment.end_date is not None
    assert counts()["audit_events"] == before["audit_events"] + 1


def test_someone_elses_assignment_is_not_found_under_this_person(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    other = AssignmentFactory(person=world.holder, position=world.counter_assistant)
    url = f"/people/{world.colleague.user_id}/positions/{other.pk}/end/"
    client = sign_in(world.ra_agent)
    assert client.get(url).status_code == 404
    assert client.post(url, date_parts("end_date", None)).status_code == 404
    other.refresh_from_db()
    assert other.end_date is None
