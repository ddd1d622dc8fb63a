"""People as they really are: registration numbers, near duplicates (scoped), RPA and
temporary-access profiles."""

from __future__ import annotations

import datetime as dt

import pytest

from cis.audit.models import AuditEvent
from cis.authz.actions import Action
from cis.authz.policy import CONSOLE, decide
from cis.authz.targets import NewGrant
from cis.core import clock
from cis.core.errors import InvalidState, ProbableDuplicate, ValidationFailed
from cis.people.duplicates import edit_distance, find_duplicates, soundex
from cis.people.models import Person, PersonKind, PersonStatus
from cis.people.registration import check_registration
from cis.people.services import (
    OUTSIDE_SCOPE,
    access_expire,
    person_create,
    person_extend_access,
)
from cis.rbac.services import assignment_create
from cis.rights.models import Right
from cis.smartcards.services.issue import card_issue
from tests.factories.directory import (
    AssignmentFactory,
    OrganisationFactory,
    PersonFactory,
    PositionFactory,
    RegistrationAuthorityFactory,
    RightGrantFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("body", "number", "cleaned"),
    [
        ("GMC", "1234567", ("GMC", "1234567")),
        ("gphc", "2012345", ("GPhC", "2012345")),
        ("NMC", "12a3456e", ("NMC", "12A3456E")),
        ("Nursing and Midwifery Council", "99B1234W", ("NMC", "99B1234W")),
        ("HCPC", "PH 123456", ("HCPC", "PH123456")),
        ("HCPC", "PA12345", ("HCPC", "PA12345")),
        ("", "", ("", "")),
    ],
)
def test_registration_numbers_in_their_real_formats(
    body: str, number: str, cleaned: tuple[str, str]
) -> None:
    assert check_registration(body, number) == cleaned


@pytest.mark.parametrize(
    ("body", "number", "field"),
    [
        ("GMC", "123456", "professional_number"),  # six digits
        ("GMC", "12345678", "professional_number"),
        ("GPhC", "20A2345", "professional_number"),
        ("NMC", "1234567E", "professional_number"),  # no letter third
        ("NMC", "12A3456", "professional_number"),  # no final letter
        ("HCPC", "XX123456", "professional_number"),  # not a profession's prefix
        ("HCPC", "PH12", "professional_number"),
        ("GDC", "123456", "professional_body"),
        ("", "1234567", "professional_body"),
        ("GMC", "", "professional_number"),
    ],
)
def test_bad_registration_numbers_are_refused_naming_the_shape(
    body: str, number: str, field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_registration(body, number)
    assert refused.value.field == field


def test_person_create_checks_the_registration_number() -> None:
    ra = RegistrationAuthorityFactory()
    with pytest.raises(ValidationFailed, match="GMC"):
        person_create(
            actor=CONSOLE, given_name="A", family_name="B", date_of_birth=dt.date(1980, 1, 1),
            registered_ra=ra, professional_body="GMC", professional_number="12345",
        )  # fmt: skip
    assert not Person.objects.filter(family_name="B").exists()


def test_soundex_and_edit_distance() -> None:
    assert soundex("Robert") == soundex("Rupert") == "R163"
    assert soundex("Ashcraft") == "A261"  # h does not separate s and c
    assert edit_distance("pearson", "pearsons") == 1
    assert edit_distance("jack", "jakc") == 1  # a swap of neighbours counts one


def _jack() -> Person:
    return PersonFactory(
        given_name="Jack",
        family_name="Pearson",
        date_of_birth=dt.date(1979, 6, 2),
        email="jack.pearson@example.org",
        professional_number="2012345",
        professional_body="GPhC",
    )


@pytest.mark.parametrize(
    ("given", "family", "dob", "extra", "why"),
    [
        ("Jak", "Pearsons", dt.date(1979, 6, 2), {}, "family names sound alike"),
        ("John", "Pearson", dt.date(1979, 6, 2), {}, "short form"),
        ("J", "Pearson", dt.date(1979, 6, 2), {}, "same initial"),
        ("Pearson", "Jack", dt.date(1979, 6, 2), {}, "swapped"),
        ("Jackie", "Peerson", dt.date(1979, 6, 2), {}, "shortened"),
        (
            "Someone",
            "Else",
            dt.date(1990, 1, 1),
            {"email": "JACK.PEARSON@example.org"},
            "same email",
        ),
        ("Someone", "Else", None, {"professional_number": "2012345"}, "same registration"),
    ],
)
def test_near_duplicates_are_found_with_why(
    given: str, family: str, dob: dt.date | None, extra: dict[str, str], why: str
) -> None:
    jack = _jack()
    [match] = find_duplicates(given_name=given, family_name=family, date_of_birth=dob, **extra)
    assert match.person == jack and why in match.why


def test_different_people_are_not_flagged() -> None:
    _jack()
    assert not find_duplicates(
        given_name="Priya", family_name="Shah", date_of_birth=dt.date(1979, 6, 2)
    )
    assert not find_duplicates(
        given_name="Jack", family_name="Pearson", date_of_birth=dt.date(1979, 6, 3)
    )


def _agent_of(ra: object) -> Person:
    agent = PersonFactory()
    RightGrantFactory(person=agent, right=Right.RA_AGENT, ra=ra)
    return agent


def test_a_duplicate_outside_the_viewers_scope_is_only_said_to_exist() -> None:
    home, other = RegistrationAuthorityFactory(), RegistrationAuthorityFactory()
    jack = _jack()
    AssignmentFactory(person=jack, position=PositionFactory(
        organisation=OrganisationFactory(serving_ra=other)))  # fmt: skip
    agent = _agent_of(home)
    details = {
        "given_name": "Jak", "family_name": "Pearsons", "date_of_birth": dt.date(1979, 6, 2),
        "registered_ra": home,
    }  # fmt: skip
    with pytest.raises(ProbableDuplicate) as flagged:
        person_create(actor=agent, **details)  # type: ignore[arg-type]
    assert flagged.value.matches == [OUTSIDE_SCOPE]
    assert "Pearson" not in flagged.value.message and jack.user_id not in flagged.value.message
    assert "the RA will check" in flagged.value.message
    created = person_create(actor=agent, acknowledged_duplicates=[OUTSIDE_SCOPE], **details)  # type: ignore[arg-type]
    event = AuditEvent.objects.get(action="person.create", target_ref=created.user_id)
    assert event.after["possible_duplicates_for_the_ra"] == [jack.user_id]


def test_a_duplicate_in_scope_is_named_with_why() -> None:
    home = RegistrationAuthorityFactory()
    jack = _jack()
    AssignmentFactory(person=jack, position=PositionFactory(
        organisation=OrganisationFactory(serving_ra=home)))  # fmt: skip
    with pytest.raises(ProbableDuplicate) as flagged:
        person_create(
            actor=_agent_of(home), given_name="Jak", family_name="Pearsons",
            date_of_birth=dt.date(1979, 6, 2), registered_ra=home,
        )  # fmt: skip
    assert flagged.value.matches == [jack.user_id]
    assert "Jack Pearson" in flagged.value.message and "sound alike" in flagged.value.message


def _kinded(kind: str, ends_on: dt.date | None) -> Person:
    return person_create(
        actor=CONSOLE, given_name="Batch", family_name="Robot", date_of_birth=dt.date(2000, 1, 1),
        registered_ra=RegistrationAuthorityFactory(), kind=kind, access_ends_on=ends_on,
    )  # fmt: skip


@pytest.mark.parametrize(("kind", "limit"), [(PersonKind.RPA, 365), (PersonKind.TEMPORARY, 90)])
def test_rpa_and_temporary_profiles_need_an_end_date_within_their_limit(
    kind: str, limit: int
) -> None:
    today = clock.today()
    with pytest.raises(ValidationFailed, match="needs the date"):
        _kinded(kind, None)
    with pytest.raises(ValidationFailed, match=f"at most {limit} days"):
        _kinded(kind, today + dt.timedelta(days=limit + 1))
    person = _kinded(kind, today + dt.timedelta(days=limit))
    assert person.access_ends_on == today + dt.timedelta(days=limit)
    with pytest.raises(ValidationFailed, match="Only RPA and temporary"):
        _kinded(PersonKind.PERSON, today)


def test_an_ended_profile_may_do_nothing_and_the_job_closes_it() -> None:
    today = clock.today()
    temp = PersonFactory(kind=PersonKind.TEMPORARY, access_ends_on=today - dt.timedelta(days=1))
    RightGrantFactory(person=temp, right=Right.SERVICE_DESK)  # even a right does not help
    decision = decide(temp, Action.PERSON_SEARCH)
    assert not decision.allowed and "access ended" in decision.reason
    assert access_expire() == 1
    temp.refresh_from_db()
    assert temp.status == PersonStatus.CLOSED
    assert access_expire() == 0


def test_renewal_rules_differ() -> None:
    today = clock.today()
    lapsed_temp = PersonFactory(kind=PersonKind.TEMPORARY, access_ends_on=today - dt.timedelta(1))
    with pytest.raises(InvalidState, match="cannot be renewed after it ends"):
        person_extend_access(actor=CONSOLE, person=lapsed_temp, ends_on=today)
    lapsed_rpa = PersonFactory(kind=PersonKind.RPA, access_ends_on=today - dt.timedelta(1))
    renewed = person_extend_access(
        actor=CONSOLE, person=lapsed_rpa, ends_on=today + dt.timedelta(days=365)
    )
    assert renewed.access_ends_on == today + dt.timedelta(days=365)
    with pytest.raises(InvalidState, match="no access end date"):
        person_extend_access(actor=CONSOLE, person=PersonFactory(), ends_on=today)


def test_limited_credentials() -> None:
    today = clock.today()
    rpa = PersonFactory(kind=PersonKind.RPA, access_ends_on=today + dt.timedelta(days=30))
    AssignmentFactory(person=rpa)
    with pytest.raises(InvalidState, match="holds no smartcard"):
        card_issue(actor=CONSOLE, holder=rpa, chip_serial="RPA0001", holder_present=True)
    manager = PersonFactory()
    org = OrganisationFactory()
    RightGrantFactory(person=manager, right=Right.RA_MANAGER, ra=org.serving_ra)
    AssignmentFactory(person=rpa, position=PositionFactory(organisation=org))
    refused = decide(manager, Action.RIGHT_GRANT, NewGrant(rpa, Right.LSA, organisation=org))
    assert not refused.allowed and "cannot hold CIS rights" in refused.reason
    temp = PersonFactory(kind=PersonKind.TEMPORARY, access_ends_on=today + dt.timedelta(days=10))
    held = assignment_create(actor=CONSOLE, person=temp, position=PositionFactory())
    assert held.end_date == temp.access_ends_on
    with pytest.raises(ValidationFailed, match="cannot run past it"):
        assignment_create(
            actor=CONSOLE, person=temp, position=PositionFactory(),
            end_date=today + dt.timedelta(days=11),
        )  # fmt: skip
