"""Creating people, checking identity, closing and reopening: each a single service call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from cis.people.models import AssuranceLevel, Person, PersonStatus
from tests.factories.directory import PersonFactory

from .conftest import World, counts, date_parts, days

pytestmark = pytest.mark.django_db

CREATE = "/people/new/"


def _new_person(world: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "given_name": "Grace",
        "family_name": "Okafor",
        **date_parts("date_of_birth", dt.date(1988, 4, 12)),
        "registered_ra": str(world.ra.pk),
        "kind": "person",
        "email": "",
        "mobile": "",
        "professional_body": "GPhC",
        "professional_number": "2081234",
    }
    data.update(overrides)
    return data


def _refused(response: Any, message: str, anchor: str | None = None) -> str:
    html: str = response.content.decode()
    assert response.status_code == 200, response.status_code
    assert "There is a problem" in html
    assert message in html, html[html.find("nhsuk-error-summary") :][:1500]
    if anchor:
        assert f'href="#{anchor}"' in html
    return html


def test_an_ra_agent_creates_a_restricted_person(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    before = counts()
    response = sign_in(world.ra_agent).post(CREATE, _new_person(world), follow=True)
    person = Person.objects.get(given_name="Grace", family_name="Okafor")
    assert response.redirect_chain[-1][0] == f"/people/{person.user_id}/"
    assert person.status == PersonStatus.RESTRICTED
    assert person.registered_ra == world.ra
    assert f"user id {person.user_id}" in response.content.decode()
    after = counts()
    assert after["people"] == before["people"] + 1
    assert after["audit_events"] == before["audit_events"] + 1


@pytest.mark.parametrize(
    ("overrides", "message", "anchor"),
    [
        (
            date_parts("date_of_birth", days(1)),
            "Date of birth must be in the past",
            "id_date_of_birth_day",
        ),
        (
            {"date_of_birth_day": "31", "date_of_birth_month": "2", "date_of_birth_year": "1990"},
            "Date of birth must be a real date.",
            "id_date_of_birth_day",
        ),
        (date_parts("date_of_birth", None), "Enter the date of birth.", "id_date_of_birth_day"),
        (
            {"email": "grace@"},
            "Enter an email address in the correct format, like name@example.com",
            "id_email",
        ),
        (
            {"mobile": "0161 496 0000"},
            "Enter a UK mobile number in the correct format",
            "id_mobile",
        ),
        ({"given_name": "  "}, "Enter the given name.", "id_given_name"),
        ({"registered_ra": ""}, "Choose the Registration Authority", "id_registered_ra"),
        (
            {"registered_ra": "999"},
            "Choose a Registration Authority from the list.",
            "id_registered_ra",
        ),
    ],
)
def test_bad_input_is_explained_and_changes_nothing(
    world: World,
    sign_in: Callable[[Person], Client],
    overrides: dict[str, str],
    message: str,
    anchor: str,
) -> None:
    before = counts()
    response = sign_in(world.ra_agent).post(CREATE, _new_person(world, **overrides))
    _refused(response, message, anchor)
    assert counts() == before


def test_a_probable_duplicate_is_shown_and_must_be_acknowledged(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    twin = PersonFactory(
        given_name="Grace",
        family_name="Okafor",
        date_of_birth=dt.date(1988, 4, 12),
        registered_ra=world.ra,
    )
    client = sign_in(world.ra_agent)
    before = counts()
    html = _refused(
        client.post(CREATE, _new_person(world)),
        "This may be someone CIS already knows",
        "id_acknowledge_duplicates",
    )
    assert counts() == before
    assert f'href="/people/{twin.user_id}/"' in html
    assert 'name="duplicate_ids" value="' + twin.user_id + '"' in html
    assert "I have checked these people and this is a different person" in html

    # Submitting again without the tick is refused again.
    again = _new_person(world, duplicate_ids=twin.user_id)
    _refused(client.post(CREATE, again), "This may be someone CIS already knows")
    assert counts() == before

    again["acknowledge_duplicates"] = "on"
    response = client.post(CREATE, again)
    assert response.status_code == 302
    assert Person.objects.filter(given_name="Grace", family_name="Okafor").count() == 2


def test_an_acknowledgement_does_not_cover_a_match_it_did_not_see(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    # Both in the RA Agent's view (registered at their RA): matches outside it are not named.
    born = dt.date(1988, 4, 12)
    PersonFactory(
        given_name="Grace", family_name="Okafor", date_of_birth=born, registered_ra=world.ra
    )
    second = PersonFactory(
        given_name="G", family_name="Okafor", date_of_birth=born, registered_ra=world.ra
    )
    before = counts()
    data = _new_person(world, duplicate_ids="555999999999", acknowledge_duplicates="on")
    html = _refused(sign_in(world.ra_agent).post(CREATE, data), "already knows")
    assert second.user_id in html
    assert counts() == before


@pytest.mark.parametrize("who", ["holder", "lsa", "id_checker", "service_desk"])
def test_people_without_the_right_cannot_create_people(
    world: World, sign_in: Callable[[Person], Client], who: str
) -> None:
    client = sign_in(world.people[who])
    before = counts()
    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, _new_person(world)).status_code == 403
    assert counts() == before


def test_an_id_checker_records_an_identity_check(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    person = PersonFactory(
        status=PersonStatus.RESTRICTED,
        assurance_level=AssuranceLevel.NONE,
        registered_ra=world.ra,
    )
    url = f"/people/{person.user_id}/verify/"
    client = sign_in(world.id_checker)
    html = client.get(url).content.decode()
    assert "Photocard driving licence" in html
    assert "Counts as a document that has a photo and proves the address." in html
    response = client.post(
        url, {"document_types": ["passport", "utility_bill", "birth_certificate"]}
    )
    assert response["Location"] == f"/people/{person.user_id}/"
    person.refresh_from_db()
    assert person.status == PersonStatus.ACTIVE
    assert person.assurance_level == AssuranceLevel.HIGH


@pytest.mark.parametrize(
    ("data", "message", "anchor"),
    [
        (
            {"document_types": ["passport", "utility_bill"]},
            "Record three different documents.",
            "id_document_types_0",
        ),
        (
            {"document_types": ["birth_certificate", "utility_bill", "bank_statement"]},
            "At least one document must carry a photo.",
            "id_document_types_0",
        ),
        (
            {
                "document_types": ["passport", "utility_bill", "p60"],
                **date_parts("checked_on", days(2)),
            },
            "The check cannot be dated in the future.",
            "id_checked_on_day",
        ),
        (
            {"document_types": ["passport", "not_a_document", "p60"]},
            "Select documents you have seen",
            "id_document_types_0",
        ),
    ],
)
def test_an_incomplete_identity_check_is_refused(
    world: World,
    sign_in: Callable[[Person], Client],
    data: dict[str, Any],
    message: str,
    anchor: str,
) -> None:
    person = PersonFactory(status=PersonStatus.RESTRICTED, registered_ra=world.ra)
    before = counts()
    response = sign_in(world.id_checker).post(f"/people/{person.user_id}/verify/", data)
    _refused(response, message, anchor)
    assert counts() == before


def test_only_id_checkers_may_record_identity_checks(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    url = f"/people/{world.holder.user_id}/verify/"
    data = {"document_types": ["passport", "utility_bill", "birth_certificate"]}
    before = counts()
    for who in ("lsa", "service_desk"):
        client = sign_in(world.people[who])
        assert client.get(url).status_code in (403, 404)
        assert client.post(url, data).status_code in (403, 404)
    assert sign_in(world.lsa).get(url).status_code == 403  # can see the holder, cannot verify
    assert counts() == before


def test_closing_needs_a_reason_and_reopening_restores_the_profile(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    client = sign_in(world.ra_agent)
    url = f"/people/{world.colleague.user_id}/close/"
    before = counts()
    _refused(
        client.post(url, {"reason": " "}), "Give a reason for closing the profile.", "id_reason"
    )
    assert counts() == before

    response = client.post(url, {"reason": "Left the NHS"}, follow=True)
    assert "Colm Colleague&#x27;s profile is closed." in response.content.decode()
    world.colleague.refresh_from_db()
    assert world.colleague.status == PersonStatus.CLOSED
    html = client.get(f"/people/{world.colleague.user_id}/").content.decode()
    assert "Reopen this profile" in html and "Close this profile" not in html

    # A closed profile cannot be changed, so closing it again is refused outright.
    assert client.get(url).status_code == 403

    response = client.post(f"/people/{world.colleague.user_id}/reopen/", {})
    assert response.status_code == 302
    world.colleague.refresh_from_db()
    assert world.colleague.status == PersonStatus.ACTIVE


def test_reopening_an_open_profile_is_explained(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    before = counts()
    response = sign_in(world.ra_agent).post(f"/people/{world.colleague.user_id}/reopen/", {})
    _refused(response, "profile is not closed.")
    assert counts() == before


def test_nobody_closes_their_own_profile(world: World, sign_in: Callable[[Person], Client]) -> None:
    client = sign_in(world.ra_agent)
    url = f"/people/{world.ra_agent.user_id}/close/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "testing"}).status_code == 403
    world.ra_agent.refresh_from_db()
    assert world.ra_agent.status == PersonStatus.ACTIVE


def test_an_ra_agent_records_a_mobile_confirmed_in_person(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    client = sign_in(world.ra_agent)
    page = client.get(f"/people/{world.colleague.user_id}/").content.decode()
    assert "Record an email or mobile confirmed in person" in page
    url = f"/people/{world.colleague.user_id}/contact-confirmed/"
    before = counts()
    _refused(client.post(url, {"channel": "mobile", "value": "12", "how": "in person"}), "mobile")
    _refused(client.post(url, {"value": "07700 900 321", "how": "in person"}), "Choose email")
    assert counts() == before

    response = client.post(
        url,
        {"channel": "mobile", "value": "07700 900 321", "how": "by telephone call-back"},
        follow=True,
    )
    assert "contact details are recorded as verified" in response.content.decode()
    world.colleague.refresh_from_db()
    assert world.colleague.mobile == "+447700900321"
    assert world.colleague.mobile_verified_at is not None
    assert counts()["audit_events"] == before["audit_events"] + 1


def test_contacts_confirmed_in_person_are_for_ra_agents_and_never_ones_own(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    body = {"channel": "email", "value": "someone@example.nhs.uk", "how": "in person"}
    before = counts()
    own = sign_in(world.ra_agent)
    assert own.post(f"/people/{world.ra_agent.user_id}/contact-confirmed/", body).status_code == 403
    lsa = sign_in(world.lsa)
    page = lsa.get(f"/people/{world.colleague.user_id}/")
    assert page.status_code == 200  # the LSA sees the colleague, but may not do this
    assert "confirmed in person" not in page.content.decode()
    assert (
        lsa.post(f"/people/{world.colleague.user_id}/contact-confirmed/", body).status_code == 403
    )
    assert counts() == before
