"""Finding the person a request is about: a search step (no JavaScript), offers on their page,
and a form that keeps what was typed when the person cannot be found."""

from __future__ import annotations

import pytest
from django.test import Client

from cis.audit.models import AuditEvent
from cis.people.models import Person
from cis.workflow.models import Request
from cis.workflow.states import RequestState
from tests.factories.directory import (
    AssignmentFactory,
    OrganisationFactory,
    PersonFactory,
    PositionFactory,
)

from .desk import Desk

pytestmark = pytest.mark.django_db


def browser(person: Person) -> Client:
    client = Client()
    client.force_login(person, backend="django.contrib.auth.backends.ModelBackend")
    return client


def text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined,no-any-return]


def test_a_sponsor_finds_the_holder_by_name_and_requests_a_card(desk: Desk) -> None:
    sponsor = browser(desk.sponsor)
    found = text(sponsor.get("/requests/new/card_issue/?q=holder"))
    assert "Hana Holder" in found
    assert f"?user_id={desk.holder.user_id}" in found
    by_email = text(sponsor.get(f"/requests/new/card_issue/?q={desk.holder.email}"))
    assert "Hana Holder" in by_email
    by_id = text(sponsor.get(f"/requests/new/card_issue/?q={desk.holder.user_id}"))
    assert "Hana Holder" in by_id
    chosen = text(sponsor.get(f"/requests/new/card_issue/?user_id={desk.holder.user_id}"))
    assert "This request is about <strong>Hana Holder</strong>" in chosen
    assert f'value="{desk.holder.user_id}"' in chosen
    sent = sponsor.post(
        f"/requests/new/card_issue/?user_id={desk.holder.user_id}",
        {"user_id": desk.holder.user_id, "note": "Starts Monday"},
    )
    assert sent.status_code == 302
    request = Request.objects.get()
    assert request.subject == desk.holder
    assert request.state == RequestState.SUBMITTED


def test_the_search_finds_only_people_in_the_actors_scope(desk: Desk) -> None:
    elsewhere = OrganisationFactory(ods_code="FZZ99", serving_ra=desk.ra)
    stranger = PersonFactory(given_name="Hana", family_name="Elsewhere")
    AssignmentFactory(person=stranger, position=PositionFactory(organisation=elsewhere))
    assert browser(desk.lsa).get("/requests/new/card_issue/?q=hana").status_code == 403
    found = text(browser(desk.sponsor).get("/requests/new/card_issue/?q=hana"))
    assert "Hana Holder" in found
    assert "Hana Elsewhere" not in found
    assert stranger.user_id not in found


def test_an_unknown_user_id_is_an_error_at_the_field_and_keeps_the_form(desk: Desk) -> None:
    sponsor = browser(desk.sponsor)
    events = AuditEvent.objects.count()
    answer = sponsor.post(
        "/requests/new/card_replace/",
        {"user_id": "999999999999", "reason": "damaged", "card_serial": "OLD-1234", "note": "Kept"},
    )
    assert answer.status_code == 200  # the form again, not a "not found" page
    page = text(answer)
    assert "No person with user id 999999999999 that you can see" in page
    assert 'value="999999999999"' in page
    assert 'value="OLD-1234"' in page
    assert "Kept" in page
    assert not Request.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_persons_page_offers_the_requests_the_actor_may_raise(desk: Desk) -> None:
    page = text(browser(desk.sponsor).get(f"/people/{desk.holder.user_id}/"))
    assert f"/requests/new/card_issue/?user_id={desk.holder.user_id}" in page
    assert f"/requests/new/position_add/?user_id={desk.holder.user_id}" in page
    assert f"/requests/new/details_change/?user_id={desk.holder.user_id}" in page
    # No card yet, so no replacement or renewal; a Sponsor cannot ask for CIS rights.
    assert "/requests/new/card_replace/" not in page
    assert "/requests/new/card_renew/" not in page
    assert "/requests/new/right_grant/" not in page
    # An LSA cannot raise requests, so nothing is offered.
    lsa_page = text(browser(desk.lsa).get(f"/people/{desk.holder.user_id}/"))
    assert "/requests/new/" not in lsa_page
    # An RA Manager may also ask for a right.
    manager_page = text(browser(desk.manager).get(f"/people/{desk.holder.user_id}/"))
    assert f"/requests/new/right_grant/?user_id={desk.holder.user_id}" in manager_page


def test_ending_a_position_from_a_persons_page_lists_only_their_positions(desk: Desk) -> None:
    page = text(
        browser(desk.sponsor).get(f"/requests/new/position_end/?user_id={desk.holder.user_id}")
    )
    assert "Hana Holder – Pharmacist" in page
    assert "Lee Lsa – Office staff" not in page
    everyone = text(browser(desk.sponsor).get("/requests/new/position_end/"))
    assert "Lee Lsa – Office staff" in everyone
