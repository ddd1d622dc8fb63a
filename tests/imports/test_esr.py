"""ESR imports: starters, changes, leavers, duplicate detection, idempotence, every bad row."""

from __future__ import annotations

import datetime as dt
import gc

import pytest

from cis.audit.models import AuditEvent
from cis.authz.policy import CONSOLE
from cis.core.errors import ValidationFailed
from cis.imports.esr import COLUMNS
from cis.imports.models import HrRecord
from cis.imports.services import import_file
from cis.organisations.models import Organisation, RegistrationAuthority
from cis.people.models import Person, PersonStatus
from cis.people.services import person_verify_identity
from cis.rbac.models import PositionAssignment
from cis.rights.models import Right
from cis.workflow.models import Notification
from tests.factories.directory import PersonFactory, PositionFactory, RightGrantFactory

from .conftest import ODS_ORDER, sample

pytestmark = pytest.mark.django_db

DOCS = ["passport", "driving_licence_photo", "utility_bill"]
POSITIONS = {
    "Y99001": ["General Practitioner", "Practice Nurse", "Receptionist"],
    "FZZ01": ["Pharmacist"],
    "FZZ02": ["Pharmacist"],
    "RZZ01": ["Paramedic"],
}


@pytest.fixture
def places(area_ra: RegistrationAuthority) -> dict[str, Organisation]:
    for name in ODS_ORDER:
        assert import_file(
            actor=CONSOLE, kind="ods", data=sample(name), filename=f"{name}.csv"
        ).applied
    orgs = {code: Organisation.objects.get(ods_code=code) for code in POSITIONS}
    for code, names in POSITIONS.items():
        for name in names:
            PositionFactory(organisation=orgs[code], name=name)
    return orgs


def _esr(text: str, **kw: object) -> object:
    return import_file(actor=CONSOLE, kind="esr", data=text.encode(), filename="esr.csv", **kw)


def _row(
    kind: str,
    employee: str,
    *,
    assignment: str = "",
    first: str = "Eve",
    last: str = "Synthetic-Row",
    dob: str = "01/01/1980",
    org: str = "Y99001",
    position: str = "Receptionist",
    start: str = "01/11/2026",
    left: str = "",
    email: str = "",
    body: str = "",
    number: str = "",
    uuid: str = "",
) -> str:
    values = {
        "Record Type": kind,
        "Employee Number": employee,
        "Assignment Number": assignment or employee,
        "First Name": first,
        "Last Name": last,
        "Date of Birth": dob,
        "Email": email,
        "Mobile": "",
        "Professional Body": body,
        "Registration Number": number,
        "Organisation Code": org,
        "Position Title": position,
        "Assignment Start Date": start,
        "Termination Date": left,
        "Leaving Reason": "",
        "UUID": uuid,
    }
    return ",".join(values[c] for c in COLUMNS) + "\n"


HEADER = ",".join(COLUMNS) + "\n"


def test_the_sample_creates_restricted_people_awaiting_an_identity_check(
    places: dict[str, Organisation],
) -> None:
    outcome = import_file(actor=CONSOLE, kind="esr", data=sample("esr"), filename="esr.csv")
    assert outcome.applied, outcome.rejected
    assert outcome.counts["people created"] == 4
    ada = Person.objects.get(family_name="Synthetic-Testperson")
    assert ada.status == PersonStatus.RESTRICTED
    assert (ada.professional_body, ada.professional_number) == ("GMC", "9912345")
    assert ada.registered_ra.code == "RAQZZ"
    assert not PositionAssignment.objects.filter(person=ada).exists()
    # Once the identity is checked, the next run of the feed gives the position.
    person_verify_identity(actor=CONSOLE, person=ada, document_types=DOCS)
    again = import_file(actor=CONSOLE, kind="esr", data=sample("esr"), filename="esr.csv")
    assert again.counts == {"assigned": 1, "unchanged": 3}
    held = PositionAssignment.objects.get(person=ada)
    assert held.position.name == "General Practitioner"
    events = AuditEvent.objects.count()
    third = import_file(actor=CONSOLE, kind="esr", data=sample("esr"), filename="esr.csv")
    assert third.counts == {"unchanged": 4} and AuditEvent.objects.count() == events


def _verified_starter(employee: str = "99000010", **kw: str) -> Person:
    assert _esr(HEADER + _row("Starter", employee, **kw)).applied
    person = HrRecord.objects.get(assignment_number=employee).person
    person_verify_identity(actor=CONSOLE, person=person, document_types=DOCS)
    assert _esr(HEADER + _row("Starter", employee, **kw)).counts["assigned"] == 1
    return person


def test_a_change_moves_the_position(places: dict[str, Organisation]) -> None:
    person = _verified_starter(org="FZZ01", position="Pharmacist")
    outcome = _esr(
        HEADER + _row("Change", "99000010", org="FZZ02", position="Pharmacist", start="01/12/2026")
    )
    assert outcome.counts == {"moved": 1}
    rows = PositionAssignment.objects.filter(person=person).order_by("id")
    assert [r.position.organisation.ods_code for r in rows] == ["FZZ01", "FZZ02"]
    assert rows[0].end_date is not None and rows[1].end_date is None


def test_a_leaver_ends_the_position_closes_the_profile_and_tells_the_lsa(
    places: dict[str, Organisation],
) -> None:
    lsa = PersonFactory(email="lsa.testshire@example.org")
    RightGrantFactory(person=lsa, right=Right.LSA, organisation=places["Y99001"])
    person = _verified_starter()
    today = dt.date.today().strftime("%d/%m/%Y")
    outcome = _esr(HEADER + _row("Leaver", "99000010", left=today))
    assert outcome.counts == {"left": 1, "people closed": 1}
    person.refresh_from_db()
    assert person.status == PersonStatus.CLOSED
    assert PositionAssignment.objects.get(person=person).end_date is not None
    note = Notification.objects.get(recipient="lsa.testshire@example.org")
    assert person.user_id in note.body and "collect" in note.body
    assert AuditEvent.objects.filter(action="person.close", target_ref=person.user_id).exists()
    assert _esr(HEADER + _row("Leaver", "99000010", left=today)).counts == {"unchanged": 1}


def test_a_leaver_with_another_assignment_stays_open(places: dict[str, Organisation]) -> None:
    person = _verified_starter()
    second = _row(
        "Starter", "99000010", assignment="99000010-2", org="FZZ01", position="Pharmacist"
    )
    assert _esr(HEADER + second).applied
    today = dt.date.today().strftime("%d/%m/%Y")
    assert _esr(HEADER + _row("Leaver", "99000010", left=today)).counts == {"left": 1}
    person.refresh_from_db()
    assert person.status == PersonStatus.ACTIVE


def test_a_near_duplicate_starter_is_rejected_with_why(places: dict[str, Organisation]) -> None:
    PersonFactory(given_name="Jack", family_name="Pearson", date_of_birth=dt.date(1980, 1, 1))
    outcome = _esr(HEADER + _row("Starter", "99000020", first="Jak", last="Pearsons"))
    assert not outcome.applied
    [rejected] = outcome.rejected
    assert rejected.field == "Last Name"
    assert "same date of birth" in rejected.reason and "sound alike" in rejected.reason


def test_a_starter_who_repeats_one_earlier_in_the_same_file_is_rejected(
    places: dict[str, Organisation],
) -> None:
    text = (
        HEADER
        + _row("Starter", "99000021", first="Jack", last="Pearson")
        + _row("Starter", "99000022", first="Jak", last="Pearsons")
        + _row("Starter", "99000023", first="Zed", last="Other", dob="02/02/1982", email="j@x.org")
        + _row("Starter", "99000024", first="Amy", last="Else", dob="03/03/1983", email="J@X.ORG")
    )
    outcome = _esr(text, partial=True)
    assert outcome.applied
    assert [(r.line, r.field) for r in outcome.rejected] == [(3, "Last Name"), (5, "Last Name")]
    assert "same date of birth" in outcome.rejected[0].reason
    assert "same email" in outcome.rejected[1].reason
    first = HrRecord.objects.get(employee_number="99000021").person
    assert first.user_id in outcome.rejected[0].reason  # named by the id it was just given
    assert sorted(
        Person.objects.filter(hr_records__isnull=False).values_list("family_name", flat=True)
    ) == [
        "Other",
        "Pearson",
    ]


def test_a_change_and_a_second_assignment_after_a_starter_in_the_same_file(
    places: dict[str, Organisation],
) -> None:
    text = (
        HEADER
        + _row("Starter", "99000031")
        + _row("Starter", "99000031", assignment="99000031-2", position="Practice Nurse")
        + _row("Change", "99000031", position="General Practitioner")
    )
    outcome = _esr(text)
    assert outcome.applied, outcome.rejected
    records = HrRecord.objects.filter(employee_number="99000031").order_by("assignment_number")
    assert [r.position.name for r in records] == ["General Practitioner", "Practice Nurse"]
    assert len({r.person_id for r in records}) == 1
    assert _esr(text).changed == 0


def test_every_kind_of_bad_row_is_reported_and_nothing_changes(
    places: dict[str, Organisation],
) -> None:
    text = HEADER + "".join(
        [
            _row("Starter", "99000030"),  # good
            _row("Hired", "99000031"),  # unknown record type
            _row("Starter", "123"),  # bad employee number
            _row("Starter", "99000032", org="ZZZ99"),  # unknown organisation
            _row("Starter", "99000033", position="Astronaut"),  # unknown position
            _row("Starter", "99000034", dob="31/02/1980"),  # not a date
            _row("Starter", "99000035", body="GMC", number="12345"),  # bad GMC number
            _row("Starter", "99000036", email="not-an-email"),
            _row("Change", "99000037"),  # no such assignment
            _row("Leaver", "99000030"),  # no termination date
            _row("Starter", "99000038", first=""),
        ]
    )
    people = Person.objects.count()
    outcome = _esr(text)
    assert not outcome.applied
    assert [(r.line, r.field) for r in outcome.rejected] == [
        (3, "Record Type"),
        (4, "Employee Number"),
        (5, "Organisation Code"),
        (6, "Position Title"),
        (7, "Date of Birth"),
        (8, "Registration Number"),
        (9, "Email"),
        (10, "Assignment Number"),
        (11, "Termination Date"),
        (12, "First Name"),
    ]
    assert Person.objects.count() == people and not HrRecord.objects.exists()
    partial = _esr(text, partial=True)
    assert partial.applied and partial.counts["people created"] == 1


def test_a_file_without_the_header_is_refused(places: dict[str, Organisation]) -> None:
    from cis.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="lacks"):
        _esr(_row("Starter", "99000040"))


def test_the_cycle_collector_is_back_on_after_a_file_good_or_bad(
    places: dict[str, Organisation],
) -> None:
    """Imports pause Python's cycle collector; the jobs runner goes on for days after them."""
    assert gc.isenabled()
    assert import_file(actor=CONSOLE, kind="esr", data=sample("esr"), filename="esr.csv").applied
    assert gc.isenabled()
    with pytest.raises(ValidationFailed):
        import_file(actor=CONSOLE, kind="esr", data=b"not,an,esr,file\n1,2,3,4\n", filename="x.csv")
    assert gc.isenabled()
