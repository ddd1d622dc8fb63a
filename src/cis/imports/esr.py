"""People and positions from an HR feed shaped like an NHS Electronic Staff Record extract.

One row per assignment event, with a header row naming the columns below. Starters become
restricted people awaiting an identity check (after a duplicate check) with the position the
HR record gives them, held from the day their identity is verified (the next import after the
check assigns it); changes move an assignment to another position; leavers end it and, when
the person holds nothing else, close their profile and tell their LSAs.

Every outcome is a state, so the same file run twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction
from django.db.models.functions import Lower, Upper

from cis.audit.trail import record_many
from cis.authz.actions import Action
from cis.authz.policy import Actor
from cis.core import clock, sql
from cis.core.errors import ValidationFailed
from cis.core.validators import (
    USER_ID_RE,
    check_date_of_birth,
    normalise_email,
    normalise_mobile,
)
from cis.organisations.models import Organisation
from cis.people.duplicates import Match, match_reasons
from cis.people.models import Person, PersonKind, PersonStatus
from cis.people.registration import check_registration
from cis.people.services import new_user_ids
from cis.rbac.models import Position, PositionAssignment, PositionStatus
from cis.rights.models import Right, RightGrant
from cis.signin.services import sessions_end_for_person
from cis.workflow.notifications import enqueue

from .models import HrRecord
from .report import Outcome, Progress, read_rows

COLUMNS = (
    "Record Type",
    "Employee Number",
    "Assignment Number",
    "First Name",
    "Last Name",
    "Date of Birth",
    "Email",
    "Mobile",
    "Professional Body",
    "Registration Number",
    "Organisation Code",
    "Position Title",
    "Assignment Start Date",
    "Termination Date",
    "Leaving Reason",
    "UUID",
)
RECORD_TYPES = {"starter": "starter", "new hire": "starter", "change": "change", "leaver": "leaver"}
EMPLOYEE_RE = re.compile(r"^[0-9]{8}$")
ASSIGNMENT_RE = re.compile(r"^[0-9]{8}(-[0-9]{1,2})?$")


def _date(value: str, column: str) -> dt.date | None:
    """ESR writes dates as DD/MM/YYYY; ISO dates are taken as well."""
    if not value:
        return None
    parsed = _calendar_date(value)
    if parsed is None:
        raise ValidationFailed(f"'{value}' is not a date (DD/MM/YYYY)", field=column)
    return parsed


@functools.lru_cache(maxsize=65536)
def _calendar_date(value: str) -> dt.date | None:
    """A file's dates repeat (a start date for thousands of rows, a few thousand dates of
    birth), and strptime was a twelfth of a national file's time: each is parsed once."""
    for form in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, form).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    return None


@dataclass
class Row:
    line: int
    kind: str
    cells: dict[str, str]

    def get(self, column: str) -> str:
        return self.cells.get(column, "")


class _Bad(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


class _Feed:
    """What the rows work on, read once, and the events their changes owe the audit trail."""

    def __init__(self, actor: Actor, source: str) -> None:
        self.actor = actor
        self.source = source
        self.today = clock.today()
        self.records = {r.assignment_number: r for r in HrRecord.objects.select_related("person")}
        self.orgs = {o.ods_code: o for o in Organisation.objects.select_related("serving_ra")}
        self.positions = {
            (p.organisation_id, p.name.casefold()): p
            for p in Position.objects.filter(status=PositionStatus.ACTIVE)
        }
        self.by_employee: dict[str, HrRecord] = {}
        for record in self.records.values():
            self.by_employee.setdefault(record.employee_number, record)
        self.events: list[dict[str, Any]] = []
        self.notices: list[tuple[Person, Organisation, str]] = []
        self.granted_by = actor if isinstance(actor, Person) else None
        self.candidates = _Candidates()
        # New starters' people and HR records, written in bulk before anything needs them.
        self.new_people: list[Person] = []
        self.new_records: list[HrRecord] = []
        self._user_ids: list[str] = []
        self._issued: set[str] = set()

    def user_id(self) -> str:
        """A new user id, from a block checked against the directory at once."""
        while not self._user_ids:
            self._user_ids = [u for u in new_user_ids(1000) if u not in self._issued]
        issued = self._user_ids.pop()
        self._issued.add(issued)
        return issued

    def add_record(self, record: HrRecord) -> None:
        self.records[record.assignment_number] = record
        self.by_employee.setdefault(record.employee_number, record)

    def flush(self) -> None:
        """Write the new starters made so far, so that the rows after them find them stored."""
        if self.new_people:
            sql.copy_instances(Person, self.new_people, key="user_id")
            self.new_people = []
        if self.new_records:
            for record in self.new_records:
                record.person_id = record.person.pk  # given by the people's copy just above
            sql.copy_instances(HrRecord, self.new_records, key="assignment_number")
            self.new_records = []

    def event(self, action: Action, target_type: str, ref: str, row: Row, **kw: Any) -> None:
        after = {**kw.pop("after", {}), "source": f"{self.source}:{row.line}"}
        self.events.append(
            {"action": action, "target_type": target_type, "target_ref": ref, "after": after, **kw}
        )

    def position(self, row: Row) -> tuple[Organisation, Position]:
        code = row.get("Organisation Code").upper()
        org = self.orgs.get(code)
        if org is None:
            raise _Bad("Organisation Code", f"no organisation {code or '(blank)'} in CIS")
        if not org.is_open:
            raise _Bad("Organisation Code", f"{org} is closed")
        title = " ".join(row.get("Position Title").split())
        position = self.positions.get((org.pk, title.casefold()))
        if position is None:
            raise _Bad("Position Title", f"no active position '{title}' at {org.ods_code}")
        return org, position

    def assign(self, record: HrRecord, row: Row, start: dt.date) -> bool:
        """Give the record's person its position, once their identity is verified."""
        person = record.person
        if person.status != PersonStatus.ACTIVE or record.assignment_id is not None:
            return False
        assignment = PositionAssignment.objects.create(
            person=person,
            position=record.position,
            start_date=max(start, self.today) if start else self.today,
            granted_by=self.granted_by,
            request_ref=f"esr:{record.assignment_number}",
        )
        record.assignment = assignment
        record.save(update_fields=["assignment", "updated_at"])
        self.event(
            Action.ASSIGNMENT_CREATE,
            "assignment",
            str(assignment.pk),
            row,
            organisation_ref=record.organisation.ods_code,
            after={
                "person": person.user_id,
                "position": record.position_id,
                "position_name": record.position.name,
                "start_date": assignment.start_date,
            },
        )
        return True

    def end(self, record: HrRecord, row: Row, on: dt.date) -> None:
        assignment = record.assignment
        if assignment is None or (assignment.end_date is not None and assignment.end_date <= on):
            return
        before = {"person": record.person.user_id, "end_date": assignment.end_date}
        assignment.end_date = max(on, assignment.start_date)
        assignment.ended_by = self.granted_by
        assignment.save(update_fields=["end_date", "ended_by", "updated_at"])
        self.event(
            Action.ASSIGNMENT_END,
            "assignment",
            str(assignment.pk),
            row,
            organisation_ref=record.organisation.ods_code,
            before=before,
            after={
                "person": record.person.user_id,
                "position_name": assignment.position.name,
                "end_date": assignment.end_date,
            },
        )


class _Candidates:
    """The people a file's starters might duplicate, read once for the whole file (those
    sharing one of its dates of birth, emails, mobiles or registration numbers), and the file's
    own new people as they are made; cis.people.duplicates says whether each matches."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, Any], list[Person]] = {}

    def load(self, rows: list[Row], feed: _Feed) -> None:
        """Only for the rows that may make someone new: a starter with no UUID whose assignment
        and employee CIS does not know yet (a file imported again checks nobody, and reads
        nobody's record twice)."""
        wanted: dict[str, set[Any]] = {"dob": set(), "email": set(), "mobile": set(), "no": set()}
        for row in rows:
            if row.kind != "starter" or row.get("UUID"):
                continue
            if row.get("Assignment Number") in feed.records:
                continue
            if row.get("Employee Number") in feed.by_employee:
                continue
            for key, value in _keys(row):
                wanted[key].add(value)
        found: dict[int, Person] = {}
        lookups = (
            ("dob", Person.objects.all(), "date_of_birth__in"),
            ("email", Person.objects.annotate(k=Lower("email")), "k__in"),
            ("mobile", Person.objects.all(), "mobile__in"),
            ("no", Person.objects.annotate(k=Upper("professional_number")), "k__in"),
        )
        for key, people, lookup in lookups:
            values = sorted(wanted[key], key=str)
            for start in range(0, len(values), 5000):
                chunk = people.filter(**{lookup: values[start : start + 5000]})
                found.update((p.pk, p) for p in chunk)
        for person in found.values():
            self.add(person)

    def add(self, person: Person) -> None:
        for key in _person_keys(person):
            self.by_key.setdefault(key, []).append(person)

    def matching(self, **details: Any) -> list[Match]:
        seen: dict[int, Person] = {}
        for key in _detail_keys(details):
            for person in self.by_key.get(key, []):
                seen.setdefault(id(person), person)
        found = []
        for person in list(seen.values())[:200]:
            reasons = match_reasons(person, **details)
            if reasons:
                found.append(Match(person, tuple(reasons)))
        return found


def _detail_keys(details: dict[str, Any]) -> list[tuple[str, Any]]:
    keys: list[tuple[str, Any]] = []
    if details.get("date_of_birth") is not None:
        keys.append(("dob", details["date_of_birth"]))
    if details.get("email"):
        keys.append(("email", str(details["email"]).casefold()))
    if details.get("mobile"):
        keys.append(("mobile", details["mobile"]))
    if details.get("professional_number"):
        keys.append(("no", str(details["professional_number"]).upper()))
    return keys


def _person_keys(person: Person) -> list[tuple[str, Any]]:
    return _detail_keys(
        {
            "date_of_birth": person.date_of_birth,
            "email": person.email,
            "mobile": person.mobile,
            "professional_number": person.professional_number,
        }
    )


def _keys(row: Row) -> list[tuple[str, Any]]:
    """A starter row's dates of birth, email, mobile and number, as far as they can be read."""
    keys: list[tuple[str, Any]] = []
    try:
        dob = _date(row.get("Date of Birth"), "Date of Birth")
        if dob is not None:
            keys.append(("dob", dob))
        if row.get("Email"):
            keys.append(("email", normalise_email(row.get("Email")).casefold()))
        if row.get("Mobile"):
            keys.append(("mobile", normalise_mobile(row.get("Mobile"))))
    except ValidationFailed:
        pass  # the row is rejected for it later; it has nothing to match on
    if row.get("Registration Number"):
        keys.append(("no", row.get("Registration Number").strip().upper()))
    return keys


def _check_row(row: Row) -> None:
    employee = row.get("Employee Number")
    if not EMPLOYEE_RE.fullmatch(employee):
        raise _Bad("Employee Number", f"'{employee}' is not an 8-digit employee number")
    number = row.get("Assignment Number")
    if not ASSIGNMENT_RE.fullmatch(number) or not number.startswith(employee):
        raise _Bad(
            "Assignment Number",
            f"'{number}' is not this employee's assignment number (e.g. {employee}-2)",
        )


def _starter(feed: _Feed, row: Row, out: Outcome) -> None:
    number = row.get("Assignment Number")
    try:
        start = _date(row.get("Assignment Start Date"), "Assignment Start Date") or feed.today
    except ValidationFailed as exc:
        raise _Bad("Assignment Start Date", exc.message) from None
    record = feed.records.get(number)
    if record is not None:
        if record.left_on is None and feed.assign(record, row, start):
            out.counts["assigned"] += 1
        else:
            out.counts["unchanged"] += 1
        return
    org, position = feed.position(row)
    person = _starter_person(feed, row, org, out)
    record = HrRecord(
        assignment_number=number,
        employee_number=row.get("Employee Number"),
        person=person,
        organisation=org,
        position=position,
        start_date=start,
    )
    if person.pk is None:
        # A new person waits for identity checks, so holds no position yet: written in bulk.
        feed.new_records.append(record)
        feed.add_record(record)
        return
    record.save()
    feed.add_record(record)
    if feed.assign(record, row, start):
        out.counts["assigned"] += 1


def _in_memory(feed: _Feed, row: Row) -> bool:
    """A starter row that writes nothing as it is read, so needs no savepoint: someone CIS does
    not know yet (made in memory, written in bulk), or an assignment already imported that has
    nothing to add (its person left, not yet verified, or already given the position)."""
    if row.kind != "starter" or row.get("UUID"):
        return False
    record = feed.records.get(row.get("Assignment Number"))
    if record is not None:
        return record.pk is None or (
            record.left_on is not None
            or record.assignment_id is not None
            or record.person.status != PersonStatus.ACTIVE
        )
    known = feed.by_employee.get(row.get("Employee Number"))
    return known is None or known.pk is None


def _starter_person(feed: _Feed, row: Row, org: Organisation, out: Outcome) -> Person:
    uuid = row.get("UUID")
    if uuid:
        if not USER_ID_RE.fullmatch(uuid):
            raise _Bad("UUID", f"'{uuid}' is not a 12-digit CIS user id")
        person = Person.objects.filter(user_id=uuid).first()
        if person is None:
            raise _Bad("UUID", f"no person with user id {uuid} in CIS")
        if person.status == PersonStatus.CLOSED:
            raise _Bad("UUID", f"{person} is closed; an RA Agent must reopen the profile first")
        return person
    employee = row.get("Employee Number")
    if employee in feed.by_employee:
        return feed.by_employee[employee].person  # a second assignment of the same employee
    given = " ".join(row.get("First Name").split())
    family = " ".join(row.get("Last Name").split())
    if not given or len(given) > 100:
        raise _Bad("First Name", "is empty" if not given else "is longer than 100 characters")
    if not family or len(family) > 100:
        raise _Bad("Last Name", "is empty" if not family else "is longer than 100 characters")
    try:
        dob = _date(row.get("Date of Birth"), "Date of Birth")
        if dob is None:
            raise ValidationFailed("is empty", field="Date of Birth")
        check_date_of_birth(dob, feed.today)
        email = normalise_email(row.get("Email")) if row.get("Email") else ""
        mobile = normalise_mobile(row.get("Mobile")) if row.get("Mobile") else ""
    except ValidationFailed as exc:
        column = {"email": "Email", "mobile": "Mobile"}.get(exc.field or "", "Date of Birth")
        raise _Bad(column, exc.message) from None
    body, number = row.get("Professional Body"), row.get("Registration Number")
    if body or number:
        try:
            body, number = check_registration(body, number)
        except ValidationFailed as exc:
            column = (
                "Professional Body" if exc.field == "professional_body" else ("Registration Number")
            )
            raise _Bad(column, exc.message) from None
    matches = feed.candidates.matching(
        given_name=given,
        family_name=family,
        date_of_birth=dob,
        email=email,
        mobile=mobile,
        professional_number=number,
    )
    if matches:
        who = "; ".join(f"{m.person.user_id} ({m.why})" for m in matches[:3])
        raise _Bad(
            "Last Name",
            f"may be someone CIS already knows: {who}. Put their user id in the UUID column, "
            "or have the RA create the profile",
        )
    person = Person(
        user_id=feed.user_id(),
        given_name=given,
        family_name=family,
        date_of_birth=dob,
        email=email,
        mobile=mobile,
        professional_body=body,
        professional_number=number,
        kind=PersonKind.PERSON,
        registered_ra=org.serving_ra,
        status=PersonStatus.RESTRICTED,
    )
    # As set_unusable_password(), with a cheaper random tail: nobody signs in with a password.
    person.password = f"{UNUSABLE_PASSWORD_PREFIX}{secrets.token_hex(20)}"
    feed.new_people.append(person)  # written in bulk (_Feed.flush) before a row needs it stored
    feed.candidates.add(person)
    out.counts["people created"] += 1
    feed.event(
        Action.PERSON_CREATE,
        "person",
        person.user_id,
        row,
        after={
            "user_id": person.user_id,
            "given_name": given,
            "family_name": family,
            "status": person.status,
            "employee_number": employee,
            "organisation": org.ods_code,
        },
    )
    return person


def _known(feed: _Feed, row: Row) -> HrRecord:
    record = feed.records.get(row.get("Assignment Number"))
    if record is None:
        raise _Bad("Assignment Number", "no starter for this assignment has been imported")
    return record


def _change(feed: _Feed, row: Row, out: Outcome) -> None:
    record = _known(feed, row)
    if record.left_on is not None:
        raise _Bad("Record Type", f"assignment {record.assignment_number} has left")
    org, position = feed.position(row)
    if record.position_id == position.pk:
        out.counts["unchanged"] += 1
        return
    try:
        start = _date(row.get("Assignment Start Date"), "Assignment Start Date") or feed.today
    except ValidationFailed as exc:
        raise _Bad("Assignment Start Date", exc.message) from None
    feed.end(record, row, start - dt.timedelta(days=1))
    record.organisation, record.position, record.assignment = org, position, None
    record.save(update_fields=["organisation", "position", "assignment", "updated_at"])
    feed.assign(record, row, start)
    out.counts["moved"] += 1


def _leaver(feed: _Feed, row: Row, out: Outcome) -> None:
    record = _known(feed, row)
    try:
        on = _date(row.get("Termination Date"), "Termination Date")
    except ValidationFailed as exc:
        raise _Bad("Termination Date", exc.message) from None
    if on is None:
        raise _Bad("Termination Date", "a leaver needs the date they leave")
    changed = False
    if record.left_on is None:
        feed.end(record, row, on)
        record.left_on = on
        record.save(update_fields=["left_on", "updated_at"])
        out.counts["left"] += 1
        changed = True
    person = record.person
    if person.status != PersonStatus.CLOSED and on <= feed.today and _holds_nothing(person, on):
        reason = row.get("Leaving Reason") or "left"
        before = {"status": person.status}
        person.status, person.closed_at = PersonStatus.CLOSED, clock.now()
        person.save(update_fields=["status", "closed_at", "updated_at"])
        sessions_end_for_person(person)
        feed.event(
            Action.PERSON_CLOSE,
            "person",
            person.user_id,
            row,
            before=before,
            after={"status": person.status, "reason": f"ESR leaver: {reason}"},
        )
        feed.notices.append((person, record.organisation, reason))
        out.counts["people closed"] += 1
        changed = True
    if not changed:
        out.counts["unchanged"] += 1


def _holds_nothing(person: Person, on: dt.date) -> bool:
    """Nothing left after this leaving date: no open HR record, no position held beyond it."""
    if HrRecord.objects.filter(person=person, left_on__isnull=True).exists():
        return False
    return not PositionAssignment.objects.filter(person=person).exclude(end_date__lte=on).exists()


def _tell_lsas(feed: _Feed) -> None:
    """Email the LSAs (and Sponsors) of each leaver's organisation: collect the card."""
    for person, org, reason in feed.notices:
        places = [org.pk] + ([org.parent_id] if org.parent_id else [])
        grants = RightGrant.objects.filter(
            right__in=[Right.LSA, Right.SPONSOR],
            revoked_at__isnull=True,
            organisation_id__in=places,
        ).exclude(end_date__lt=feed.today)
        holders = [g.person_id for g in grants if g.organisation_id == org.pk or g.include_children]
        emails = Person.objects.filter(pk__in=holders, status=PersonStatus.ACTIVE).exclude(email="")
        enqueue(
            event_key=f"esr-leaver:{person.user_id}:{org.ods_code}",
            recipients=emails.values_list("email", flat=True),
            subject=f"{person.full_name} has left {org.name}",
            body=(
                f"The HR record says {person.full_name} ({person.user_id}) has left "
                f"{org.name} ({org.ods_code}): {reason}.\n\nTheir CIS profile is now closed, "
                "so their smartcard no longer signs them in. Please collect the card and "
                "return it to your Registration Authority.\n"
            ),
        )


HANDLERS = {"starter": _starter, "change": _change, "leaver": _leaver}


def run(
    *,
    actor: Actor,
    rule: str,
    text: str,
    partial: bool,
    source: str,
    progress: Progress | None = None,
) -> Outcome:
    """Apply the rows in order; a bad row is reported, and without partial undoes the file."""
    out = Outcome(kind="esr", layout="esr", partial=partial)
    lines = list(read_rows(text))
    if not lines:
        raise ValidationFailed("The file is empty.", field="file")
    header_line, header = lines[0]
    missing = [c for c in COLUMNS if c.casefold() not in {h.casefold() for h in header}]
    if missing:
        raise ValidationFailed(
            f"The header row (line {header_line}) lacks: {', '.join(missing)}.", field="file"
        )
    names = {h.casefold(): h for h in header}
    index = {c: header.index(names[c.casefold()]) for c in COLUMNS}
    rows = []
    for line, cells in lines[1:]:
        row = Row(line, "", {c: cells[i] if i < len(cells) else "" for c, i in index.items()})
        row.kind = RECORD_TYPES.get(row.get("Record Type").casefold(), "")
        rows.append(row)
    feed = _Feed(actor, source)
    feed.candidates.load(rows, feed)
    total = len(rows)
    for done, row in enumerate(rows, start=1):
        out.rows += 1
        if progress is not None and done % 500 == 0:
            progress(done, total)
        line = row.line
        try:
            if not row.kind:
                raise _Bad(
                    "Record Type", f"'{row.get('Record Type')}' is not Starter, Change or Leaver"
                )
            _check_row(row)
            if _in_memory(feed, row):
                _starter(feed, row, out)  # in memory until flushed; a bad row adds nothing
                continue
            feed.flush()
            with transaction.atomic():  # a savepoint: a bad row leaves no trace
                mark = len(feed.events), len(feed.notices)
                try:
                    HANDLERS[row.kind](feed, row, out)
                except _Bad:
                    del feed.events[mark[0] :]
                    del feed.notices[mark[1] :]
                    raise
        except _Bad as bad:
            out.reject(line, bad.column, bad.reason)
    if out.rejected and not partial:
        return out  # every bad row is reported; the caller undoes the good ones
    feed.flush()
    out.events += record_many(actor=actor, rule=rule, events=feed.events)
    _tell_lsas(feed)
    if progress is not None:
        progress(total, total)
    out.applied = True
    return out
