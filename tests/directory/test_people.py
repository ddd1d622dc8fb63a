"""People services: creation, duplicates, identity checks, contact changes with one-time codes."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail

from cis.audit.models import AuditEvent
from cis.authz.policy import CONSOLE
from cis.core import clock
from cis.core.errors import (
    InvalidState,
    NotPermitted,
    ProbableDuplicate,
    RateLimited,
    ValidationFailed,
    WrongCode,
)
from cis.notify.sms import MemorySmsSender
from cis.people.models import Person, PersonStatus
from cis.people.services import (
    contact_change_confirm,
    contact_change_start,
    contact_confirm_in_person,
    person_close,
    person_create,
    person_reopen,
    person_verify_identity,
)
from tests.factories.directory import PersonFactory, RegistrationAuthorityFactory, RightGrantFactory

pytestmark = pytest.mark.django_db


def _create(**overrides: object) -> Person:
    args: dict[str, object] = {
        "actor": CONSOLE,
        "given_name": "Grace",
        "family_name": "Okafor",
        "date_of_birth": dt.date(1988, 4, 12),
        "registered_ra": RegistrationAuthorityFactory(code="RA1"),
    }
    args.update(overrides)
    return person_create(**args)  # type: ignore[arg-type]


def test_a_new_person_is_restricted_with_a_12_digit_user_id() -> None:
    person = _create(email="Grace.Okafor@Example.NHS.uk", mobile="07700 900 123")
    assert re.fullmatch(r"[1-9][0-9]{11}", person.user_id)
    assert person.status == PersonStatus.RESTRICTED
    assert person.email == "Grace.Okafor@example.nhs.uk"
    assert person.mobile == "+447700900123"
    assert not person.has_usable_password()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "Enter an email address in the correct format"),
        ("mobile", "12345", "Enter a UK mobile number in the correct format"),
        ("date_of_birth", dt.date.today() + dt.timedelta(days=1), "must be in the past"),
        ("given_name", "   ", "Enter the given name"),
        ("kind", "robot", "not a kind of person"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(field: str, value: object, message: str) -> None:
    RegistrationAuthorityFactory(code="RA1")
    people, events = Person.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationFailed, match=message):
        _create(**{field: value})
    assert (Person.objects.count(), AuditEvent.objects.count()) == (people, events)


def test_a_probable_duplicate_is_refused_until_acknowledged() -> None:
    first = _create()
    with pytest.raises(ProbableDuplicate) as caught:
        _create(given_name="GRACE")
    assert caught.value.matches == [first.user_id]
    with pytest.raises(ProbableDuplicate):
        _create(given_name="G.")  # same initial, same family name, same date of birth
    with pytest.raises(ProbableDuplicate):
        _create(given_name="Okafor", family_name="Grace")  # names swapped
    second = _create(given_name="Grace", acknowledged_duplicates=[first.user_id])
    assert second.user_id != first.user_id
    assert _create(date_of_birth=dt.date(1988, 4, 13)).pk  # a different date of birth is fine


def test_identity_check_needs_three_documents_with_photo_and_address() -> None:
    person = PersonFactory(status=PersonStatus.RESTRICTED, assurance_level=0)
    checker = PersonFactory()
    RightGrantFactory(person=checker, right="service_desk")  # no ID checker right
    with pytest.raises(NotPermitted):
        person_verify_identity(
            actor=checker, person=person, document_types=["passport", "utility_bill", "p60"]
        )
    ra = RegistrationAuthorityFactory()
    person.registered_ra = ra
    person.save()
    RightGrantFactory(person=checker, right="id_checker", ra=ra)
    for docs, message in [
        (["passport", "utility_bill"], "three different"),
        (["birth_certificate", "utility_bill", "p60"], "photo"),
        (["passport", "national_id", "birth_certificate"], "address"),
        (["passport", "utility_bill", "tarot_card"], "Unknown document"),
    ]:
        with pytest.raises(ValidationFailed, match=message):
            person_verify_identity(actor=checker, person=person, document_types=docs)
    person.refresh_from_db()
    assert person.status == PersonStatus.RESTRICTED
    check = person_verify_identity(
        actor=checker, person=person, document_types=["passport", "utility_bill", "p60"]
    )
    person.refresh_from_db()
    assert person.status == PersonStatus.ACTIVE
    assert check.checker == checker
    assert "numbers" not in str(check.document_types)


def test_close_and_reopen() -> None:
    person = PersonFactory()
    with pytest.raises(ValidationFailed):
        person_close(actor=CONSOLE, person=person, reason=" ")
    person_close(actor=CONSOLE, person=person, reason="Left the NHS")
    person.refresh_from_db()
    assert person.status == PersonStatus.CLOSED
    assert not person.is_active
    with pytest.raises(NotPermitted):
        person_close(actor=person, person=person, reason="a closed profile acts on nothing")
    person_reopen(actor=CONSOLE, person=person)
    person.refresh_from_db()
    assert person.status == PersonStatus.ACTIVE
    with pytest.raises(InvalidState):
        person_reopen(actor=CONSOLE, person=person)


def _code_from_mail() -> str:
    match = re.search(r"\b(\d{6})\b", mail.outbox[-1].body)
    assert match
    return match.group(1)


def test_a_new_email_is_used_only_after_its_code_is_confirmed(
    django_capture_on_commit_callbacks: object,
) -> None:
    person = PersonFactory(email="old@example.nhs.uk")
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        pending = contact_change_start(
            actor=person, person=person, channel="email", new_value="new@example.nhs.uk"
        )
    assert mail.outbox[-1].to == ["new@example.nhs.uk"]
    person.refresh_from_db()
    assert person.email == "old@example.nhs.uk"
    code = _code_from_mail()
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(WrongCode, match="4 attempts left"):
        contact_change_confirm(actor=person, person=person, verification_id=pending.pk, code=wrong)
    contact_change_confirm(actor=person, person=person, verification_id=pending.pk, code=code)
    person.refresh_from_db()
    assert person.email == "new@example.nhs.uk"
    assert person.email_verified_at is not None
    with pytest.raises(InvalidState, match="already been used"):
        contact_change_confirm(actor=person, person=person, verification_id=pending.pk, code=code)


def test_a_code_expires_after_15_minutes(django_capture_on_commit_callbacks: object) -> None:
    person = PersonFactory()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        pending = contact_change_start(
            actor=person, person=person, channel="mobile", new_value="07700 900 999"
        )
    assert MemorySmsSender.outbox[-1]["to"] == "+447700900999"
    code = re.search(r"\b(\d{6})\b", MemorySmsSender.outbox[-1]["body"]).group(1)  # type: ignore[union-attr]
    clock.travel(dt.timedelta(minutes=15, seconds=1))
    with pytest.raises(InvalidState, match="expired"):
        contact_change_confirm(actor=person, person=person, verification_id=pending.pk, code=code)
    person.refresh_from_db()
    assert person.mobile != "+447700900999"


def test_five_wrong_codes_exhaust_the_code(django_capture_on_commit_callbacks: object) -> None:
    person = PersonFactory()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        pending = contact_change_start(
            actor=person, person=person, channel="email", new_value="x@example.nhs.uk"
        )
    code = _code_from_mail()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(WrongCode):
            contact_change_confirm(
                actor=person, person=person, verification_id=pending.pk, code=wrong
            )
    with pytest.raises(InvalidState, match="Too many wrong codes"):
        contact_change_confirm(actor=person, person=person, verification_id=pending.pk, code=code)


def test_codes_are_rate_limited_and_a_new_code_replaces_the_old() -> None:
    person = PersonFactory()
    first = contact_change_start(
        actor=person, person=person, channel="email", new_value="a@example.nhs.uk"
    )
    for i in range(4):
        contact_change_start(
            actor=person, person=person, channel="email", new_value=f"b{i}@example.nhs.uk"
        )
    first.refresh_from_db()
    assert first.superseded
    with pytest.raises(RateLimited):
        contact_change_start(
            actor=person, person=person, channel="email", new_value="c@example.nhs.uk"
        )


def test_nobody_changes_someone_elses_contact_without_a_right() -> None:
    person, other = PersonFactory(), PersonFactory()
    with pytest.raises(NotPermitted):
        contact_change_start(
            actor=other, person=person, channel="email", new_value="evil@example.com"
        )


def _ra_agent_for(person: Person) -> Person:
    """An RA Agent at the RA where the person registered."""
    ra = RegistrationAuthorityFactory()
    person.registered_ra = ra
    person.save()
    agent = PersonFactory()
    RightGrantFactory(person=agent, right="ra_agent", ra=ra)
    return agent


def test_an_ra_agent_records_a_contact_confirmed_in_person() -> None:
    person = PersonFactory(email="old@example.nhs.uk")
    agent = _ra_agent_for(person)
    pending = contact_change_start(
        actor=person, person=person, channel="email", new_value="code@example.nhs.uk"
    )
    contact_confirm_in_person(
        actor=agent, person=person, channel="email", value="Grace.New@Example.NHS.uk"
    )
    person.refresh_from_db()
    assert person.email == "Grace.New@example.nhs.uk"
    assert person.email_verified_at is not None
    assert clock.now() - person.email_verified_at < dt.timedelta(minutes=1)
    pending.refresh_from_db()
    assert pending.superseded  # the code already sent can no longer change the address
    event = AuditEvent.objects.get(action="person.confirm_contact")
    assert event.actor_ref == agent.user_id
    assert event.before == {"email": "old@example.nhs.uk"}
    assert event.after == {
        "email": "Grace.New@example.nhs.uk",
        "verified": True,
        "how": "in person",
    }


def test_a_contact_confirmed_in_person_is_checked_and_never_ones_own() -> None:
    person = PersonFactory(mobile="+447700900001")
    agent = _ra_agent_for(person)
    with pytest.raises(ValidationFailed, match="mobile"):
        contact_confirm_in_person(actor=agent, person=person, channel="mobile", value="12")
    with pytest.raises(ValidationFailed, match="in person or by telephone"):
        contact_confirm_in_person(
            actor=agent, person=person, channel="mobile", value="07700 900 123", how="guessed"
        )
    with pytest.raises(NotPermitted):  # a holder confirms their own contact with a code
        contact_confirm_in_person(
            actor=person, person=person, channel="mobile", value="07700 900 123"
        )
    with pytest.raises(NotPermitted):  # and a Sponsor cannot record one at all
        sponsor = PersonFactory()
        RightGrantFactory(person=sponsor, right="sponsor", ra=person.registered_ra)
        contact_confirm_in_person(
            actor=sponsor, person=person, channel="mobile", value="07700 900 123"
        )
    person.refresh_from_db()
    assert person.mobile == "+447700900001"
    assert not AuditEvent.objects.filter(action="person.confirm_contact").exists()
