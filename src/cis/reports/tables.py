"""The reports as tables: one definition per report, read by the portal, the API and CSV alike.

Each report turns its selectors' rows into named tables of plain values (text, numbers, dates),
with the columns that describe them, so that the page, the JSON, the CSV file and the chart all
show the same figures. A table may carry a chart of itself (`ChartSpec`), drawn by
`cis.reports.charts`; the page shows the table beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.core import clock
from cis.core.errors import NotFound, ValidationFailed
from cis.rights.models import Right
from cis.workflow.states import EscalationLevel

from . import selectors

Value = str | int | dt.date | dt.datetime | None


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False
    # False for a value kept for programs (an ISO date beside its label): in JSON and CSV only.
    on_page: bool = True


@dataclass(frozen=True)
class ChartSpec:
    """A bar chart of a table: one bar (or one stacked part) per series column, one group per
    row, labelled by the category column."""

    category: str  # the column that labels each group of bars
    series: tuple[str, ...]  # the numeric columns drawn
    stacked: bool = False
    y_label: str = ""


@dataclass(frozen=True)
class Table:
    key: str
    caption: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Value]]
    chart: ChartSpec | None = None

    def values(self) -> list[list[Value]]:
        """The rows as lists, in column order (for CSV and the page)."""
        return [[row.get(c.key) for c in self.columns] for row in self.rows]


@dataclass(frozen=True)
class Option:
    """A choice the viewer makes (?name=value): the window, the period."""

    name: str
    label: str
    choices: tuple[tuple[str, str], ...]
    default: str


@dataclass(frozen=True)
class Report:
    slug: str
    title: str
    description: str
    tables: list[Table]
    main: str  # the table CSV exports unless asked for another
    options: dict[str, str] = field(default_factory=dict)  # the values chosen
    generated_at: dt.datetime = field(default_factory=clock.now)

    def file_stem(self, table: Table) -> str:
        """What a download of one of its tables is called (before the date)."""
        return self.slug if table.key == self.main else f"{self.slug}-{table.key}"

    def table(self, key: str = "") -> Table:
        wanted = key or self.main
        for table in self.tables:
            if table.key == wanted:
                return table
        names = ", ".join(t.key for t in self.tables)
        raise ValidationFailed(
            f"This report has no table called '{wanted}': it has {names}.", field="table"
        )


Builder = Callable[[Actor, Mapping[str, str]], list[Table]]


@dataclass(frozen=True)
class Definition:
    slug: str
    title: str
    description: str
    build: Builder
    main: str
    options: tuple[Option, ...] = ()


def _days_left(moment: dt.datetime | dt.date, today: dt.date) -> int:
    day = timezone.localdate(moment) if isinstance(moment, dt.datetime) else moment
    return (day - today).days


def _name(person: Any) -> str:
    return str(person.full_name) if person is not None else ""


def _user_id(person: Any) -> str:
    return str(person.user_id) if person is not None else ""


# The reports --------------------------------------------------------------------------------


def _locked_cards(actor: Actor, options: Mapping[str, str]) -> list[Table]:
    now = clock.now()
    rows: list[dict[str, Value]] = [
        {
            "holder": _name(card.holder),
            "user_id": _user_id(card.holder),
            "card": card.chip_serial,
            "locked_since": card.locked_at,
            "days_locked": (now - card.locked_at).days if card.locked_at else None,
        }
        for card in selectors.locked_cards(actor=actor)
    ]
    columns = (
        Column("holder", "Holder"),
        Column("user_id", "User id"),
        Column("card", "Card"),
        Column("locked_since", "Locked since"),
        Column("days_locked", "Days locked", numeric=True),
    )
    return [Table("cards", "Locked cards", columns, rows)]


EXPIRY_CHOICES = tuple((str(d), f"{d} days") for d in selectors.EXPIRY_WINDOWS)


def _expiry_summary(actor: Actor, options: Mapping[str, str]) -> Table:
    counts = selectors.certificates_expiring_counts(actor=actor)
    return Table(
        "summary",
        "Valid certificates expiring, by window",
        (
            Column("window", "Expiring within"),
            Column("days", "Days", numeric=True),
            Column("certificates", "Certificates", numeric=True),
        ),
        [
            {"window": f"{d} days", "days": d, "certificates": counts[d]}
            for d in selectors.EXPIRY_WINDOWS
        ],
        ChartSpec(category="window", series=("certificates",), y_label="Certificates"),
    )


def _certificates_expiring(actor: Actor, options: Mapping[str, str]) -> list[Table]:
    days = int(options["days"])
    today = clock.today()
    summary = _expiry_summary(actor, options)
    listed = Table(
        "certificates",
        f"Certificates expiring within {days} days",
        (
            Column("holder", "Holder"),
            Column("user_id", "User id"),
            Column("serial", "Serial number"),
            Column("expires", "Expires"),
            Column("days_left", "Days left", numeric=True),
        ),
        [
            {
                "holder": _name(cert.person),
                "user_id": _user_id(cert.person),
                "serial": cert.serial_hex,
                "expires": cert.not_after,
                "days_left": _days_left(cert.not_after, today),
            }
            for cert in selectors.certificates_expiring(actor=actor, within_days=days)
        ],
    )
    return [summary, listed]


POSITION_CHOICES = tuple((str(d), f"{d} days") for d in (7, 30, 90))


def _positions_ending(actor: Actor, options: Mapping[str, str]) -> list[Table]:
    days = int(options["days"])
    today = clock.today()
    rows: list[dict[str, Value]] = []
    for assignment in selectors.positions_ending(actor=actor, within_days=days):
        org = assignment.position.organisation
        rows.append(
            {
                "person": _name(assignment.person),
                "user_id": _user_id(assignment.person),
                "position": assignment.position.name,
                "ods_code": org.ods_code,
                "organisation": org.name,
                "ends": assignment.end_date,
                "days_left": _days_left(assignment.end_date, today)
                if assignment.end_date
                else None,
            }
        )
    columns = (
        Column("person", "Person"),
        Column("user_id", "User id"),
        Column("position", "Position"),
        Column("ods_code", "ODS code"),
        Column("organisation", "Organisation"),
        Column("ends", "Ends"),
        Column("days_left", "Days left", numeric=True),
    )
    return [Table("positions", f"Positions ending within {days} days", columns, rows)]


def _identity_checks(actor: Actor, options: Mapping[str, str]) -> list[Table]:
    now = clock.now()
    people = Table(
        "people",
        "Registered, identity not yet checked",
        (
            Column("person", "Person"),
            Column("user_id", "User id"),
            Column("ra", "Registration Authority"),
            Column("registered", "Registered"),
            Column("days_waiting", "Days waiting", numeric=True),
        ),
        [
            {
                "person": person.full_name,
                "user_id": person.user_id,
                "ra": person.registered_ra.name if person.registered_ra else "",
                "registered": person.created_at,
                "days_waiting": (now - person.created_at).days,
            }
            for person in selectors.people_awaiting_identity_check(actor=actor)
        ],
    )
    registrations = Table(
        "registrations",
        "Requests to register someone, still open",
        (
            Column("request", "Request"),
            Column("person", "Person"),
            Column("organisation", "Organisation"),
            Column("raised", "Raised"),
            Column("due", "Due"),
        ),
        [
            {
                "request": request.ref,
                "person": request.subject_label,
                "organisation": request.organisation.name if request.organisation else "",
                "raised": request.raised_at,
                "due": request.due_at,
            }
            for request in selectors.registrations_awaiting_identity_check(actor=actor)
        ],
    )
    return [people, registrations]


def _age_bands(actor: Actor, options: Mapping[str, str]) -> Table:
    return Table(
        "bands",
        "Open requests by age, within and past their due time",
        (
            Column("age", "Raised"),
            Column("within_due", "Within due time", numeric=True),
            Column("overdue", "Past due time", numeric=True),
            Column("total", "Total", numeric=True),
        ),
        [
            {"age": b.label, "within_due": b.within_due, "overdue": b.overdue, "total": b.total}
            for b in selectors.requests_by_age(actor=actor)
        ],
        ChartSpec(
            category="age", series=("within_due", "overdue"), stacked=True, y_label="Requests"
        ),
    )


def _requests_by_age(actor: Actor, options: Mapping[str, str]) -> list[Table]:
    now = clock.now()
    bands = _age_bands(actor, options)
    listed = Table(
        "requests",
        "Open requests, soonest due first",
        (
            Column("request", "Request"),
            Column("type", "Type"),
            Column("person", "About"),
            Column("organisation", "Organisation"),
            Column("state", "State"),
            Column("raised", "Raised"),
            Column("due", "Due"),
            Column("overdue", "Past due time"),
        ),
        [
            {
                "request": r.ref,
                "type": r.get_request_type_display(),
                "person": r.subject_label,
                "organisation": r.organisation.name if r.organisation else "",
                "state": r.get_state_display(),
                "raised": r.raised_at,
                "due": r.due_at,
                "overdue": "yes" if r.due_at < now else "no",
            }
            for r in selectors.open_requests(actor=actor)
        ],
    )
    return [bands, listed]


def _escalations(actor: Actor, options: Mapping[str, str]) -> list[Table]:
    counts = selectors.escalation_counts(actor=actor)
    summary = Table(
        "counts",
        "Open escalations",
        (Column("what", "Escalations"), Column("count", "Number", numeric=True)),
        [
            {"what": "To an RA Manager", "count": counts.to_ra_manager},
            {"what": "To the service desk", "count": counts.to_service_desk},
            {"what": "Raised by the clock (past due)", "count": counts.by_the_clock},
            {"what": "Raised by hand", "count": counts.by_hand},
            {"what": "All open escalations", "count": counts.total},
        ],
    )
    listed = Table(
        "escalations",
        "Open escalations, oldest first",
        (
            Column("request", "Request"),
            Column("type", "Type"),
            Column("person", "About"),
            Column("organisation", "Organisation"),
            Column("level", "Escalated to"),
            Column("raised", "Escalated"),
            Column("raised_by", "By"),
            Column("reason", "Reason"),
        ),
        [
            {
                "request": e.request.ref,
                "type": e.request.get_request_type_display(),
                "person": e.request.subject_label,
                "organisation": e.request.organisation.name if e.request.organisation else "",
                "level": EscalationLevel(e.level).label,
                "raised": e.raised_at,
                "raised_by": _name(e.raised_by) or "the clock (past due)",
                "reason": e.reason,
            }
            for e in selectors.open_escalations(actor=actor)
        ],
    )
    return [summary, listed]


PERIOD_CHOICES = (("week", "Weeks"), ("month", "Months"))
ACTIVITY_PERIODS = 12


def _activity(actor: Actor, options: Mapping[str, str]) -> Table:
    period = options["period"]
    rows: list[dict[str, Value]] = [
        {
            "period": p.starts.strftime("%-d %b %Y" if period == "week" else "%b %Y"),
            "starts": p.starts,
            "self_unlocks": p.self_unlocks,
            "assisted_unlocks": p.assisted_unlocks,
            "renewals": p.renewals,
        }
        for p in selectors.card_activity(actor=actor, period=period, count=ACTIVITY_PERIODS)
    ]
    columns = (
        Column("period", "Week of" if period == "week" else "Month"),
        Column("starts", "Starts", on_page=False),
        Column("self_unlocks", "Self-unlocks", numeric=True),
        Column("assisted_unlocks", "Assisted unlocks", numeric=True),
        Column("renewals", "Renewals", numeric=True),
    )
    chart = ChartSpec(
        category="period", series=("self_unlocks", "assisted_unlocks", "renewals"), y_label="Done"
    )
    caption = f"Unlocks and renewals completed, last {ACTIVITY_PERIODS} {period}s"
    return Table("activity", caption, columns, rows, chart)


def _card_activity(actor: Actor, options: Mapping[str, str]) -> list[Table]:
    return [_activity(actor, options)]


def _rights_holders(actor: Actor, options: Mapping[str, str]) -> list[Table]:
    rows: list[dict[str, Value]] = []
    for entry in selectors.rights_holders_by_organisation(actor=actor):
        org = entry.organisation
        named = "; ".join(
            f"{Right(right).label}: {', '.join(p.full_name for p in people)}"
            for right, people in sorted(entry.holders.items())
        )
        rows.append(
            {
                "ods_code": org.ods_code,
                "organisation": org.name,
                "lsa": entry.count(Right.LSA),
                "sponsor": entry.count(Right.SPONSOR),
                "other": sum(
                    entry.count(r) for r in entry.holders if r not in (Right.LSA, Right.SPONSOR)
                ),
                "holders": named,
            }
        )
    organisations = Table(
        "organisations",
        "Rights holders at each organisation",
        (
            Column("ods_code", "ODS code"),
            Column("organisation", "Organisation"),
            Column("lsa", "LSAs", numeric=True),
            Column("sponsor", "Sponsors", numeric=True),
            Column("other", "Other rights", numeric=True),
            Column("holders", "Who"),
        ),
        rows,
    )
    ra_wide = Table(
        "ra_wide",
        "Rights across a whole Registration Authority's area",
        (
            Column("ra", "Registration Authority"),
            Column("right", "Right"),
            Column("person", "Person"),
            Column("user_id", "User id"),
        ),
        [
            {
                "ra": grant.ra.name if grant.ra else "",
                "right": grant.get_right_display(),
                "person": grant.person.full_name,
                "user_id": grant.person.user_id,
            }
            for grant in selectors.ra_wide_rights_holders(actor=actor)
        ],
    )
    return [organisations, ra_wide]


def _premises_without_lsa(actor: Actor, options: Mapping[str, str]) -> list[Table]:
    rows: list[dict[str, Value]] = [
        {
            "ods_code": org.ods_code,
            "organisation": org.name,
            "type": org.get_org_type_display(),
            "parent": org.parent.name if org.parent else "",
            "ra": org.serving_ra.name if org.serving_ra else "",
        }
        for org in selectors.premises_without_lsa(actor=actor)
    ]
    columns = (
        Column("ods_code", "ODS code"),
        Column("organisation", "Organisation"),
        Column("type", "Type"),
        Column("parent", "Part of"),
        Column("ra", "Registration Authority"),
    )
    return [Table("premises", "Open premises with no LSA or Sponsor", columns, rows)]


DEFINITIONS: tuple[Definition, ...] = (
    Definition(
        "locked-cards",
        "Locked cards",
        "Cards locked after three wrong passcodes, longest locked first: each holder needs an "
        "unlock, by themselves with a one-time code or by an administrator with them.",
        _locked_cards,
        "cards",
    ),
    Definition(
        "certificates-expiring",
        "Certificates expiring",
        "Valid certificates that expire soon. Holders can renew from 90 days before expiry; "
        "after expiry only an RA Agent can, with the holder present.",
        _certificates_expiring,
        "certificates",
        (Option("days", "Expiring within", EXPIRY_CHOICES, "30"),),
    ),
    Definition(
        "positions-ending",
        "Positions ending",
        "Positions whose end date is near: extend them before access is lost, or let them end.",
        _positions_ending,
        "positions",
        (Option("days", "Ending within", POSITION_CHOICES, "30"),),
    ),
    Definition(
        "identity-checks",
        "People awaiting an identity check",
        "People registered but not yet verified face to face, and open requests to register "
        "someone: until the check, they cannot hold a position or a card.",
        _identity_checks,
        "people",
    ),
    Definition(
        "requests-by-age",
        "Requests by age",
        "Requests still waiting for the RA, by how long ago they were raised, within and past "
        "their due time.",
        _requests_by_age,
        "bands",
    ),
    Definition(
        "escalations",
        "Escalations",
        "Requests taken above the RA Agents, to an RA Manager or the service desk, because "
        "their due time passed or someone chased them.",
        _escalations,
        "escalations",
    ),
    Definition(
        "card-activity",
        "Unlocks and renewals",
        "Card unlocks done by the holders themselves against those done by an administrator, "
        "and certificate renewals, over time.",
        _card_activity,
        "activity",
        (Option("period", "Show by", PERIOD_CHOICES, "week"),),
    ),
    Definition(
        "rights-holders",
        "Rights holders",
        "Who holds each CIS right at each organisation, and across the Registration "
        "Authorities' areas.",
        _rights_holders,
        "organisations",
    ),
    Definition(
        "premises-without-lsa",
        "Premises without an LSA",
        "Open premises where nobody holds an LSA or Sponsor right: nobody on site can unlock a "
        "card with the holder present.",
        _premises_without_lsa,
        "premises",
    ),
)
BY_SLUG = {d.slug: d for d in DEFINITIONS}


def definition(slug: str) -> Definition:
    try:
        return BY_SLUG[slug]
    except KeyError:
        raise NotFound(f"There is no report called '{slug}'.") from None


def choose(definition: Definition, given: Mapping[str, str]) -> dict[str, str]:
    """The options for a report: each given one checked against its choices, else its default."""
    chosen = {}
    for option in definition.options:
        value = str(given.get(option.name, "") or option.default).strip()
        allowed = [v for v, _label in option.choices]
        if value not in allowed:
            raise ValidationFailed(
                f"{option.label} must be one of {', '.join(allowed)}.", field=option.name
            )
        chosen[option.name] = value
    return chosen


# The tables that carry a chart, each buildable alone: the chart's picture and a home page's
# copy of its figures cost only that table, not the whole report.
TableBuilder = Callable[[Actor, Mapping[str, str]], Table]
CHARTED: dict[tuple[str, str], TableBuilder] = {
    ("certificates-expiring", "summary"): _expiry_summary,
    ("requests-by-age", "bands"): _age_bands,
    ("card-activity", "activity"): _activity,
}


def chart_table(
    *, actor: Actor, slug: str, key: str, options: Mapping[str, str] | None = None
) -> tuple[Table, dict[str, str]]:
    """One table of a report, with the options it was built with: built alone when it has a
    chart, else taken from the whole report (whose `table` names an unknown key). Refused as
    `report_build` is; a table without a chart comes back with `chart` None."""
    found = definition(slug)
    require(actor, Action.REPORT_VIEW)
    chosen = choose(found, options or {})
    builder = CHARTED.get((slug, key))
    if builder is None:
        return report_build(actor=actor, slug=slug, options=chosen).table(key), chosen
    return builder(actor, chosen), chosen


def report_build(*, actor: Actor, slug: str, options: Mapping[str, str] | None = None) -> Report:
    """One report for the viewer, scoped by the policy; refused (NotPermitted) to anyone who may
    see no report at all, and figures only from what the viewer's rights reach."""
    found = definition(slug)
    require(actor, Action.REPORT_VIEW)
    chosen = choose(found, options or {})
    return Report(
        slug=found.slug,
        title=found.title,
        description=found.description,
        tables=found.build(actor, chosen),
        main=found.main,
        options=chosen,
    )


__all__ = [
    "DEFINITIONS",
    "ChartSpec",
    "Column",
    "Definition",
    "Option",
    "Report",
    "Table",
    "chart_table",
    "choose",
    "definition",
    "report_build",
]
