"""Organisations from ODS's published CSV files: create, update, close, reopen and re-parent.

ODS publishes each kind of organisation as a CSV file without a header, in one standard layout
of 27 columns (the ODS Standards Repository; the column list below). CIS reads five of them:

- epraccur     GP practices                  -> gp_practice (column 15 is the commissioner)
- edispensary  pharmacies and dispensaries   -> community_pharmacy (column 15, the parent HQ)
- epharmacyhq  pharmacy head offices         -> pharmacy_head_office
- etr          NHS trusts                    -> nhs_trust
- ets          NHS trust sites               -> nhs_trust_site (column 15, the parent trust)

The whole file is checked before anything changes; every change is then written in bulk with
its audit event, in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cis.audit.trail import record_many
from cis.authz.actions import Action
from cis.authz.policy import Actor
from cis.core import clock, sql
from cis.core.errors import ValidationFailed
from cis.core.validators import ODS_GENERAL_RE, normalise_ods_code
from cis.organisations.models import (
    Organisation,
    OrganisationStatus,
    OrganisationType,
    RegistrationAuthority,
)

from .report import Outcome, Progress, read_rows

COLUMNS = (
    "Organisation Code",
    "Name",
    "National Grouping",
    "High Level Health Geography",
    "Address Line 1",
    "Address Line 2",
    "Address Line 3",
    "Address Line 4",
    "Address Line 5",
    "Postcode",
    "Open Date",
    "Close Date",
    "Status Code",
    "Organisation Sub-Type Code",
    "Parent Organisation Code",  # "Commissioner" in epraccur
    "Join Parent Date",
    "Left Parent Date",
    "Contact Telephone Number",
    "Null 19",
    "Null 20",
    "Null 21",
    "Amended Record Indicator",
    "Null 23",
    "Provider/Purchaser",
    "Null 25",
    "Prescribing Setting",
    "Null 27",
)
CODE, NAME, GEOGRAPHY, OPEN_DATE, CLOSE_DATE, STATUS, PARENT = 0, 1, 3, 10, 11, 12, 14
ADDRESS = slice(4, 10)
STATUS_CODES = {"A": "active", "C": "closed", "D": "dormant", "P": "proposed"}


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    org_type: str
    parent_is_org: bool  # column 15 names a parent organisation (else a commissioner)


LAYOUTS = {
    layout.name: layout
    for layout in (
        Layout("epraccur", "GP practices", OrganisationType.GP_PRACTICE, False),
        Layout("edispensary", "Pharmacies", OrganisationType.COMMUNITY_PHARMACY, True),
        Layout(
            "epharmacyhq", "Pharmacy head offices", OrganisationType.PHARMACY_HEAD_OFFICE, False
        ),
        Layout("etr", "NHS trusts", OrganisationType.NHS_TRUST, False),
        Layout("ets", "NHS trust sites", OrganisationType.NHS_TRUST_SITE, True),
    )
}


def layout_for(filename: str, layout: str = "") -> Layout:
    """The layout named, or the one the file's name gives (epraccur.csv, ets.csv ...)."""
    name = (layout or Path(filename).stem).strip().lower()
    for known, found in LAYOUTS.items():
        if name == known or (not layout and name.startswith(known)):
            return found
    raise ValidationFailed(
        f"Say which ODS file this is: {', '.join(LAYOUTS)} (from its name, or with --layout).",
        field="layout",
    )


def _date(value: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()  # noqa: DTZ007 - a calendar date
    except ValueError:
        raise ValidationFailed(f"'{value}' is not a date in ODS form (YYYYMMDD).") from None


@dataclass
class Row:
    line: int
    code: str
    name: str
    address: str
    geography: str
    geographies: list[str]
    parent: str
    opened_on: dt.date | None
    closed_on: dt.date | None  # closed in ODS (on this day) as of today
    proposed: bool
    ra: RegistrationAuthority | None = None


def _parse(line: int, cells: list[str], layout: Layout, out: Outcome) -> Row | None:
    if len(cells) != len(COLUMNS):
        out.reject(line, "row", f"has {len(cells)} columns; the ODS layout has {len(COLUMNS)}")
        return None
    try:
        code = normalise_ods_code(cells[CODE], layout.org_type)
    except ValidationFailed as exc:
        out.reject(line, COLUMNS[CODE], exc.message)
        return None
    name = " ".join(cells[NAME].split())
    if not name:
        out.reject(line, COLUMNS[NAME], "is empty")
        return None
    if len(name) > 200:
        out.reject(line, COLUMNS[NAME], "is longer than 200 characters")
        return None
    dates: dict[int, dt.date | None] = {}
    for column in (OPEN_DATE, CLOSE_DATE):
        try:
            dates[column] = _date(cells[column])
        except ValidationFailed as exc:
            out.reject(line, COLUMNS[column], exc.message)
            return None
    status = cells[STATUS].upper()
    if layout.name == "epraccur" and status not in STATUS_CODES:
        out.reject(line, COLUMNS[STATUS], f"'{cells[STATUS]}' is not one of A, C, D, P")
        return None
    closed_on = dates[CLOSE_DATE]
    if closed_on is not None and closed_on > clock.today():
        closed_on = None  # announced, not yet closed
    if status == "C" and closed_on is None:
        closed_on = dates[CLOSE_DATE] or clock.today()
    parent = cells[PARENT].upper() if layout.parent_is_org else ""
    if parent and not ODS_GENERAL_RE.fullmatch(parent):
        out.reject(line, COLUMNS[PARENT], f"'{cells[PARENT]}' is not an ODS code")
        return None
    if parent == code:
        out.reject(line, COLUMNS[PARENT], "an organisation cannot be its own parent")
        return None
    geographies = [cells[GEOGRAPHY].upper()]
    if layout.name == "epraccur":
        geographies.insert(0, cells[PARENT].upper())  # the commissioner (sub-ICB location)
    geographies = [g for g in geographies if g]
    address = ", ".join(" ".join(c.split()) for c in cells[ADDRESS] if c.strip())
    return Row(
        line=line,
        code=code,
        name=name,
        address=address[:300],
        geography=cells[GEOGRAPHY].upper()[:10],
        geographies=geographies,
        parent=parent,
        opened_on=dates[OPEN_DATE],
        closed_on=closed_on,
        proposed=status == "P",
    )


@dataclass
class _Known:
    """The organisations CIS has, read once: by code, and who is whose child."""

    orgs: dict[str, Organisation]
    code_of: dict[int, str]
    children: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, rows: dict[str, Row]) -> _Known:
        """The file's organisations, their parents (old and new) and their children."""
        wanted = set(rows) | {r.parent for r in rows.values() if r.parent}
        orgs: dict[str, Organisation] = {}
        codes = sorted(wanted)
        for start in range(0, len(codes), 5000):
            chunk = Organisation.objects.filter(ods_code__in=codes[start : start + 5000])
            orgs.update((o.ods_code, o) for o in chunk)
        ids = [o.pk for o in orgs.values()]
        for start in range(0, len(ids), 5000):
            chunk_ids = ids[start : start + 5000]
            related = Organisation.objects.filter(parent_id__in=chunk_ids) | (
                Organisation.objects.filter(
                    pk__in=Organisation.objects.filter(pk__in=chunk_ids).values("parent_id")
                )
            )
            orgs.update((o.ods_code, o) for o in related)
        code_of = {o.pk: code for code, o in orgs.items()}
        known = cls(orgs, code_of)
        missing = {o.parent_id for o in orgs.values()} - set(code_of) - {None}
        code_of.update(Organisation.objects.filter(pk__in=missing).values_list("pk", "ods_code"))
        for code, org in orgs.items():
            if org.parent_id is not None:
                known.children.setdefault(code_of[org.parent_id], set()).add(code)
        return known

    def parent_code(self, org: Organisation) -> str:
        return self.code_of[org.parent_id] if org.parent_id is not None else ""


def _snapshot(org: Organisation, parent: str, ra_codes: dict[int, str]) -> dict[str, Any]:
    return {
        "ods_code": org.ods_code,
        "name": org.name,
        "org_type": org.org_type,
        "parent": parent or None,
        "serving_ra": ra_codes[org.serving_ra_id],
        "status": org.status,
        "address": org.address,
        "geography": org.geography,
    }


def run(
    *,
    actor: Actor,
    rule: str,
    text: str,
    layout: Layout,
    partial: bool,
    default_ra: RegistrationAuthority | None,
    source: str,
    progress: Progress | None = None,
) -> Outcome:
    """Check every row, then (if all are good, or with partial the good ones) apply them.

    Runs inside the caller's transaction; returns before writing anything when a row is bad and
    partial is off.
    """
    out = Outcome(kind="ods", layout=layout.name, partial=partial)
    rows: dict[str, Row] = {}
    for line, cells in read_rows(text):
        if line == 1 and cells and cells[0].casefold() == COLUMNS[0].casefold():
            continue  # a header row, which ODS files do not have but spreadsheets add
        out.rows += 1
        row = _parse(line, cells, layout, out)
        if row is None:
            continue
        if row.code in rows:
            out.reject(
                line,
                COLUMNS[CODE],
                f"{row.code} appears again (first on line {rows[row.code].line})",
            )
            continue
        rows[row.code] = row
    known = _Known.load(rows)
    ras = list(RegistrationAuthority.objects.filter(is_active=True))
    ra_codes = {ra.pk: ra.code for ra in RegistrationAuthority.objects.all()}
    by_geography = {g: ra for ra in ras for g in ra.geographies}
    _check_links(rows, known, by_geography, default_ra, out)
    if out.rejected and not partial:
        return out
    bad = _bad(out, rows)
    good = {code: row for code, row in rows.items() if code not in bad}
    applying = _Apply(layout, known, ra_codes, source, out, progress)
    applying.run(good)
    out.events += record_many(actor=actor, rule=rule, events=applying.events)
    out.applied = True
    return out


def _bad(out: Outcome, rows: dict[str, Row]) -> set[str]:
    lines = {r.line for r in out.rejected}
    return {code for code, row in rows.items() if row.line in lines}


def _check_links(
    rows: dict[str, Row],
    known: _Known,
    by_geography: dict[str, RegistrationAuthority],
    default_ra: RegistrationAuthority | None,
    out: Outcome,
) -> None:
    """Parents that exist and stay open; an RA for every new organisation; no orphaned child."""

    def closed_after(code: str) -> bool:
        if code in rows:
            return rows[code].closed_on is not None
        return not known.orgs[code].is_open

    for row in rows.values():
        if row.parent and row.parent not in rows and row.parent not in known.orgs:
            out.reject(
                row.line, COLUMNS[PARENT], f"no organisation {row.parent} in CIS or in this file"
            )
        elif row.parent and row.closed_on is None and closed_after(row.parent):
            out.reject(row.line, COLUMNS[PARENT], f"{row.parent} is closed")
        if row.closed_on is not None and row.code in known.orgs:
            still_open = sorted(
                c
                for c in known.children.get(row.code, set())
                if not closed_after(c) and (c not in rows or rows[c].parent == row.code)
            )
            if still_open and known.orgs[row.code].is_open:
                out.reject(
                    row.line,
                    COLUMNS[CLOSE_DATE],
                    f"its child organisations are still open: {', '.join(still_open)}",
                )
    # Which RA serves each new organisation: its health geography's, else its parent's.
    pending = [r for r in rows.values() if r.code not in known.orgs and r.closed_on is None]
    for row in pending:
        row.ra = next((by_geography[g] for g in row.geographies if g in by_geography), None)
    for _ in range(4):  # a parent's RA passes down (head office -> branch, trust -> site)
        for row in pending:
            if row.ra is None and row.parent:
                parent = rows.get(row.parent)
                if parent is not None and parent.ra is not None:
                    row.ra = parent.ra
                elif row.parent in known.orgs:
                    row.ra = known.orgs[row.parent].serving_ra
    for row in pending:
        if row.ra is None:
            row.ra = default_ra
        if row.ra is None and not row.proposed:
            where = ", ".join(row.geographies) or "none given"
            out.reject(
                row.line,
                COLUMNS[GEOGRAPHY],
                f"no Registration Authority serves this area ({where}); give a default RA",
            )


@dataclass
class _Apply:
    """One file's changes, applied: the new organisations in bulk, then each change."""

    layout: Layout
    known: _Known
    ra_codes: dict[int, str]
    source: str
    out: Outcome
    progress: Progress | None
    events: list[dict[str, Any]] = field(default_factory=list)

    def create(self, rows: dict[str, Row]) -> set[str]:
        """The file's new organisations, inserted in one pass (COPY on PostgreSQL)."""
        new: list[Organisation] = []
        for row in rows.values():
            if row.code in self.known.orgs:
                continue
            if row.closed_on is not None or row.proposed or row.ra is None:
                self.out.counts["skipped"] += 1  # closed before CIS knew it, or not open yet
                continue
            new.append(
                Organisation(
                    ods_code=row.code,
                    name=row.name,
                    org_type=self.layout.org_type,
                    serving_ra=row.ra,
                    status=OrganisationStatus.OPEN,
                    address=row.address,
                    geography=row.geography,
                    opened_on=row.opened_on,
                )
            )
        now = sql.when(clock.now())
        sql.copy_rows(
            Organisation,
            _INSERTED,
            [
                (o.ods_code, o.name, o.org_type, o.serving_ra_id, o.status, o.address)
                + (o.geography, o.opened_on, now, now)
                for o in new
            ],
        )
        codes = [o.ods_code for o in new]
        ids: dict[str, int] = {}
        for start in range(0, len(codes), 5000):
            ids.update(
                Organisation.objects.filter(ods_code__in=codes[start : start + 5000]).values_list(
                    "ods_code", "pk"
                )
            )
        for org in new:
            org.pk = ids[org.ods_code]
            self.known.orgs[org.ods_code] = org
            self.known.code_of[org.pk] = org.ods_code
        return set(codes)

    def change(self, row: Row, org: Organisation, created: bool) -> list[Action]:
        """Bring one organisation in line with its row; the kinds of change made."""
        actions: list[Action] = []
        if not created:
            if (org.name, org.address, org.geography) != (row.name, row.address, row.geography):
                org.name, org.address, org.geography = row.name, row.address, row.geography
                actions.append(Action.ORGANISATION_UPDATE)
            if row.closed_on is not None and org.is_open:
                org.status = OrganisationStatus.CLOSED
                org.closed_on = min(row.closed_on, clock.today())
                actions.append(Action.ORGANISATION_CLOSE)
            elif row.closed_on is None and not org.is_open and not row.proposed:
                org.status, org.closed_on = OrganisationStatus.OPEN, None
                actions.append(Action.ORGANISATION_REOPEN)
        if self.layout.parent_is_org and row.parent != self.known.parent_code(org):
            org.parent_id = self.known.orgs[row.parent].pk if row.parent else None
            actions.append(Action.ORGANISATION_MOVE)
        return [Action.ORGANISATION_CREATE] if created else actions

    def run(self, rows: dict[str, Row]) -> None:
        created = self.create(rows)
        changed: list[Organisation] = []
        for done, row in enumerate(rows.values(), start=1):
            if self.progress is not None and done % 1000 == 0:
                self.progress(done, len(rows))
            org = self.known.orgs.get(row.code)
            if org is None:
                continue
            is_new = row.code in created
            before = {} if is_new else _snapshot(org, self.known.parent_code(org), self.ra_codes)
            actions = self.change(row, org, is_new)
            if not actions:
                self.out.counts["unchanged"] += 1
                continue
            if not is_new or org.parent_id is not None:
                changed.append(org)
            after = {
                **_snapshot(org, self.known.parent_code(org), self.ra_codes),
                "source": f"{self.source}:{row.line}",
            }
            for action in actions:  # one event per kind of change, each with the whole picture
                self.out.counts[_COUNT[action]] += 1
                self.events.append(
                    {
                        "action": action,
                        "target_type": "organisation",
                        "target_ref": org.ods_code,
                        "organisation_ref": org.ods_code,
                        "before": before,
                        "after": after,
                    }
                )
        if changed:
            now = clock.now()
            for org in changed:
                org.updated_at = now
            Organisation.objects.bulk_update(
                changed,
                ["name", "address", "geography", "status", "closed_on", "parent", "updated_at"],
                batch_size=1000,
            )
        if self.progress is not None:
            self.progress(len(rows), len(rows))


# The columns a new organisation is inserted with (the rest are empty or null).
_INSERTED = (
    "ods_code",
    "name",
    "org_type",
    "serving_ra",
    "status",
    "address",
    "geography",
    "opened_on",
    "created_at",
    "updated_at",
)

_COUNT = {
    Action.ORGANISATION_CREATE: "created",
    Action.ORGANISATION_UPDATE: "updated",
    Action.ORGANISATION_CLOSE: "closed",
    Action.ORGANISATION_REOPEN: "reopened",
    Action.ORGANISATION_MOVE: "moved",
}
