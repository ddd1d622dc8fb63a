"""People over the API: scoped search and reads, and every write's bad input refused cleanly."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cis.audit.models import AuditEvent
from cis.core import clock
from cis.people.models import IdentityCheck, Person, PersonStatus
from tests.factories.directory import AssignmentFactory, PersonFactory, RightGrantFactory

from .conftest import Caller, World, assert_error, count_queries, unchanged_database

PEOPLE = "/api/v1/people/"


def _ids(body: dict[str, Any]) -> set[str]:
    return {row["user_id"] for row in body["results"]}


def test_search_lists_only_people_in_scope(world: World, call: Caller) -> None:
    body = call("lsa", "get", PEOPLE).json()
    branch_staff = {world.holder, world.colleague, world.lsa, world.sponsor}
    assert _ids(body) == {p.user_id for p in branch_staff}
    assert len(body["results"]) == len(branch_staff)
    assert "count" not in body  # a long list is never counted (README "Paging")


def test_search_matches_names_and_user_id_prefix(world: World, call: Caller) -> None:
    assert _ids(call("lsa", "get", f"{PEOPLE}?q=holder").json()) == {world.holder.user_id}
    prefix = world.colleague.user_id[:11]
    assert world.colleague.user_id in _ids(call("lsa", "get", f"{PEOPLE}?q={prefix}").json())


def test_a_holder_without_rights_finds_nobody(world: World, call: Caller) -> None:
    body = call("holder", "get", PEOPLE).json()
    assert body == {"next": None, "previous": None, "results": []}


def test_service_desk_sees_everyone(world: World, call: Caller) -> None:
    body = call("desk", "get", f"{PEOPLE}?limit=200").json()
    assert _ids(body) == set(Person.objects.values_list("user_id", flat=True))


def test_the_list_is_paged_by_cursor(world: World, call: Caller) -> None:
    everyone = call("desk", "get", f"{PEOPLE}?limit=200").json()["results"]
    first = call("desk", "get", f"{PEOPLE}?limit=3").json()
    assert first["previous"] is None
    pages, url = [first], first["next"]
    while url:
        pages.append(call("desk", "get", url.removeprefix("http://testserver")).json())
        url = pages[-1]["next"]
    assert [row for page in pages for row in page["results"]] == everyone
    assert all(len(page["results"]) == 3 for page in pages[:-1])
    back = call("desk", "get", pages[2]["previous"].removeprefix("http://testserver")).json()
    assert back["results"] == pages[1]["results"]


@pytest.mark.parametrize(
    "query", ["cursor=nonsense", "cursor=eyJrIjpbMV0sImIiOmZhbHNlfQ", "limit=0"]
)
def test_a_bad_cursor_or_limit_is_a_400(world: World, call: Caller, query: str) -> None:
    response = call("desk", "get", f"{PEOPLE}?{query}")
    assert_error(response, 400, "validation_failed", query.split("=", maxsplit=1)[0])


def test_the_list_takes_a_fixed_number_of_queries(
    world: World, call: Caller, django_assert_max_num_queries: Any
) -> None:
    call("lsa", "get", PEOPLE)  # signs in
    with django_assert_max_num_queries(10) as few:
        call("lsa", "get", PEOPLE)
    for _ in range(15):
        AssignmentFactory(position=world.pharmacist)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = call("lsa", "get", PEOPLE).json()
    assert len(body["results"]) == 19


def test_a_search_takes_a_fixed_number_of_queries(
    world: World, call: Caller, django_assert_max_num_queries: Any
) -> None:
    path = f"{PEOPLE}?q=searchable"
    AssignmentFactory(person=PersonFactory(family_name="Searchable"), position=world.pharmacist)
    call("lsa", "get", path)  # signs in
    with django_assert_max_num_queries(11) as few:
        call("lsa", "get", path)
    for n in range(15):
        person = PersonFactory(family_name=f"Searchable{n}")
        AssignmentFactory(person=person, position=world.pharmacist)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = call("lsa", "get", path).json()
    assert len(body["results"]) == 16


@pytest.mark.parametrize("listed", [2000, 3])
def test_a_search_pages_alike_whether_its_matches_are_listed_first_or_not(
    world: World, call: Caller, monkeypatch: pytest.MonkeyPatch, listed: int
) -> None:
    """people.selectors lists a search's few matches first; past MATCHES_LISTED it does not."""
    monkeypatch.setattr("cis.people.selectors.MATCHES_LISTED", listed)
    for n in (3, 1, 4, 1, 5, 9):
        person = PersonFactory(family_name=f"Pager{n}", given_name=f"G{n % 2}")
        AssignmentFactory(person=person, position=world.pharmacist)
    PersonFactory(family_name="Pager0")  # out of the LSA's scope
    expected = [
        p.user_id
        for p in Person.objects.filter(family_name__startswith="Pager")
        .exclude(family_name="Pager0")
        .order_by("family_name", "given_name", "id")
    ]
    pages, url = [], f"{PEOPLE}?q=agER&limit=2"
    while url:
        pages.append(call("lsa", "get", url.removeprefix("http://testserver")).json())
        url = pages[-1]["next"]
    assert [row["user_id"] for page in pages for row in page["results"]] == expected
    assert len(pages) == 3


def test_detail_shows_the_whole_record(world: World, call: Caller) -> None:
    body = call("lsa", "get", f"{PEOPLE}{world.colleague.user_id}/").json()
    assert body["user_id"] == world.colleague.user_id
    assert body["full_name"] == world.colleague.full_name
    assert body["date_of_birth"] == "1985-05-17"
    assert body["registered_ra"] == {"code": "RA1", "name": "North RA"}
    assert body["status"] == "active"
    assert body["assurance_level"] == 3


@pytest.mark.parametrize("bad", ["12345", "55500000000A", "5550000000001"])
def test_a_malformed_user_id_in_the_path_is_a_400(world: World, call: Caller, bad: str) -> None:
    body = assert_error(call("lsa", "get", f"{PEOPLE}{bad}/"), 400, "validation_failed", "user_id")
    assert "12 digits" in body["detail"]


def test_absent_and_out_of_sight_read_the_same(world: World, call: Caller) -> None:
    missing = call("lsa", "get", f"{PEOPLE}999999999999/")
    hidden = call("lsa", "get", f"{PEOPLE}{world.outsider.user_id}/")
    assert missing.status_code == hidden.status_code == 404
    assert missing.json() == hidden.json()


def _new(**overrides: Any) -> dict[str, Any]:
    return {
        "given_name": "Nadia",
        "family_name": "Newcomer",
        "date_of_birth": "1990-02-03",
        "registered_ra": "RA1",
        "email": "Nadia.Newcomer@NHS.net",
        "mobile": "07700 900456",
        **overrides,
    }


def test_create_makes_a_restricted_profile_and_audits_it(world: World, call: Caller) -> None:
    response = call(
        "agent", "post", PEOPLE, _new(professional_body="GPhC", professional_number="2081234")
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == PersonStatus.RESTRICTED
    assert body["email"] == "Nadia.Newcomer@nhs.net"
    assert body["mobile"] == "+447700900456"
    assert len(body["user_id"]) == 12
    event = AuditEvent.objects.get(action="person.create")
    assert event.target_ref == body["user_id"]
    assert event.actor_ref == world.agent.user_id
    assert event.rule.startswith("in-scope:ra_agent")


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"email": "nadia-at-nhs.net"}, "email", "Enter an email address in the correct format"),
        ({"email": "nadia@"}, "email", "Enter an email address in the correct format"),
        ({"mobile": "01632 960000"}, "mobile", "Enter a UK mobile number in the correct format"),
        ({"mobile": "07700 9004"}, "mobile", "Enter a UK mobile number in the correct format"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "must be in the past"),
        ({"date_of_birth": "03/02/1990"}, "date_of_birth", "format"),
        ({"given_name": "   "}, "given_name", ""),
        ({"kind": "robot"}, "kind", "not a valid choice"),
        ({"acknowledged_duplicates": ["12"]}, "acknowledged_duplicates.0", "12 digits"),
    ],
)
def test_create_refuses_bad_input_and_changes_nothing(
    world: World, call: Caller, overrides: dict[str, Any], field: str, words: str
) -> None:
    with unchanged_database():
        response = call("agent", "post", PEOPLE, _new(**overrides))
    body = assert_error(response, 400, "validation_failed", field)
    assert words in body["detail"]


def test_a_date_of_birth_tomorrow_is_in_the_future(world: World, call: Caller) -> None:
    tomorrow = (clock.today() + dt.timedelta(days=1)).isoformat()
    with unchanged_database():
        response = call("agent", "post", PEOPLE, _new(date_of_birth=tomorrow))
    assert_error(response, 400, "validation_failed", "date_of_birth")


def test_missing_fields_are_all_listed(world: World, call: Caller) -> None:
    with unchanged_database():
        response = call("agent", "post", PEOPLE, {"given_name": "Nadia"})
    body = assert_error(response, 400, "validation_failed")
    assert {"family_name", "date_of_birth", "registered_ra"} <= set(body["errors"])
    assert body["field"] in body["errors"]


def test_an_unknown_ra_is_not_found(world: World, call: Caller) -> None:
    with unchanged_database():
        response = call("agent", "post", PEOPLE, _new(registered_ra="NOPE"))
    assert_error(response, 404, "not_found", "registered_ra")


def test_a_probable_duplicate_is_a_409_naming_the_matches(world: World, call: Caller) -> None:
    born = dt.date(1990, 2, 3)  # both in the RA Agent's view: their RA registered them
    twin = PersonFactory(
        given_name="Nadia", family_name="Newcomer", date_of_birth=born, registered_ra=world.ra
    )
    similar = PersonFactory(
        given_name="N.", family_name="newcomer", date_of_birth=born, registered_ra=world.ra
    )
    with unchanged_database():
        response = call("agent", "post", PEOPLE, _new())
    body = assert_error(response, 409, "probable_duplicate")
    assert set(body["matches"]) == {twin.user_id, similar.user_id}
    assert twin.user_id in body["detail"]

    # Acknowledging only one of them is not enough.
    with unchanged_database():
        partly = call("agent", "post", PEOPLE, _new(acknowledged_duplicates=[twin.user_id]))
    assert assert_error(partly, 409, "probable_duplicate")["matches"] == [similar.user_id]

    both = [twin.user_id, similar.user_id]
    created = call("agent", "post", PEOPLE, _new(acknowledged_duplicates=both))
    assert created.status_code == 201, created.json()


def test_update_changes_only_what_is_sent(world: World, call: Caller) -> None:
    url = f"{PEOPLE}{world.colleague.user_id}/"
    response = call("agent", "patch", url, {"family_name": "Collier"})
    assert response.status_code == 200, response.json()
    world.colleague.refresh_from_db()
    assert world.colleague.family_name == "Collier"
    assert world.colleague.given_name == "Colin"
    event = AuditEvent.objects.get(action="person.update_details")
    assert event.request_ref == ""  # made directly, not by applying a request
    assert event.before["family_name"] == "Colleague"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date_of_birth": "2999-12-31"}, "date_of_birth"),
        ({"date_of_birth": "1850-01-01"}, "date_of_birth"),
        ({"family_name": ""}, "family_name"),
    ],
)
def test_update_refuses_bad_input_and_changes_nothing(
    world: World, call: Caller, body: dict[str, Any], field: str
) -> None:
    with unchanged_database():
        response = call("agent", "patch", f"{PEOPLE}{world.colleague.user_id}/", body)
    assert_error(response, 400, "validation_failed", field)


def test_verifying_identity_lifts_the_restriction(world: World, call: Caller) -> None:
    url = f"{PEOPLE}{world.restricted.user_id}/identity-checks/"
    documents = ["passport", "utility_bill", "birth_certificate"]
    response = call("id_checker", "post", url, {"document_types": documents, "notes": "Seen"})
    assert response.status_code == 201, response.json()
    assert response.json()["checker"]["user_id"] == world.id_checker.user_id
    assert sorted(response.json()["document_types"]) == sorted(documents)
    person = call("id_checker", "get", f"{PEOPLE}{world.restricted.user_id}/").json()
    assert person["status"] == "active"
    assert person["assurance_level"] == 3
    listed = call("id_checker", "get", url).json()
    assert listed["count"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"document_types": ["passport", "utility_bill"]}, "documents"),
        ({"document_types": ["birth_certificate", "utility_bill", "p60"]}, "documents"),
        ({"document_types": ["passport", "tattoo", "p60"]}, "document_types.1"),
        (
            {"document_types": ["passport", "p60", "national_id"], "checked_on": "2999-01-01"},
            "checked_on",
        ),
    ],
)
def test_an_incomplete_identity_check_changes_nothing(
    world: World, call: Caller, body: dict[str, Any], field: str
) -> None:
    url = f"{PEOPLE}{world.restricted.user_id}/identity-checks/"
    with unchanged_database():
        response = call("id_checker", "post", url, body)
    assert_error(response, 400, "validation_failed", field)


def test_close_and_reopen(world: World, call: Caller) -> None:
    url = f"{PEOPLE}{world.colleague.user_id}/"
    closed = call("agent", "post", f"{url}close/", {"reason": "Left the NHS"})
    assert closed.status_code == 200, closed.json()
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"]
    reopened = call("agent", "post", f"{url}reopen/", {})
    assert reopened.status_code == 200, reopened.json()
    assert reopened.json()["status"] == "active"


def test_closing_needs_a_reason(world: World, call: Caller) -> None:
    url = f"{PEOPLE}{world.colleague.user_id}/close/"
    with unchanged_database():
        assert_error(call("agent", "post", url, {}), 400, "validation_failed", "reason")
        assert_error(
            call("agent", "post", url, {"reason": "  "}), 400, "validation_failed", "reason"
        )


def test_reopening_an_open_profile_is_a_409(world: World, call: Caller) -> None:
    with unchanged_database():
        response = call("agent", "post", f"{PEOPLE}{world.colleague.user_id}/reopen/", {})
    assert_error(response, 409, "invalid_state")


def test_a_closed_profile_cannot_be_changed(world: World, call: Caller) -> None:
    with unchanged_database():
        response = call("agent", "patch", f"{PEOPLE}{world.gone.user_id}/", {"given_name": "G"})
    assert_error(response, 403, "not_permitted")


def test_a_persons_rights(world: World, call: Caller) -> None:
    url = f"{PEOPLE}{world.lsa.user_id}/rights/"
    body = call("lsa", "get", url).json()
    assert [row["right"] for row in body["results"]] == ["lsa"]
    assert body["results"][0]["organisation"] == {"ods_code": "FBR01", "name": "Chain Branch"}
    assert body["results"][0]["scope_label"] == "Chain Branch (FBR01)"
    call("manager", "post", f"/api/v1/rights/{world.lsa_grant.pk}/revoke/", {})
    assert call("lsa", "get", url).json()["count"] == 0
    history = call("manager", "get", f"{url}?current=false").json()
    assert history["results"][0]["revoked_at"]
    assert history["results"][0]["revoked_by"]["user_id"] == world.manager.user_id


def test_a_bad_boolean_filter_is_a_400(world: World, call: Caller) -> None:
    url = f"{PEOPLE}{world.lsa.user_id}/rights/?current=maybe"
    assert_error(call("lsa", "get", url), 400, "validation_failed", "current")


def test_a_persons_lists_take_a_fixed_number_of_queries(
    world: World, call: Caller, django_assert_max_num_queries: Any
) -> None:
    rights = f"{PEOPLE}{world.lsa.user_id}/rights/?current=false"
    checks = f"{PEOPLE}{world.colleague.user_id}/identity-checks/"

    def add_check(days_ago: int) -> None:
        IdentityCheck.objects.create(
            person=world.colleague,
            checker=world.id_checker,
            checked_on=clock.today() - dt.timedelta(days=days_ago),
            document_types=["passport", "p60", "utility_bill"],
            assurance_level=3,
        )

    add_check(0)  # an empty page skips the rows query, so measure with one row
    few_rights = count_queries(call, "manager", rights)
    few_checks = count_queries(call, "manager", checks)
    for n in range(8):
        RightGrantFactory(
            person=world.lsa, right="sponsor", organisation=world.branch, granted_by=world.manager
        )
        add_check(n + 1)
    with django_assert_max_num_queries(few_rights):
        assert call("manager", "get", rights).json()["count"] == 9
    with django_assert_max_num_queries(few_checks):
        assert call("manager", "get", checks).json()["count"] == 9
