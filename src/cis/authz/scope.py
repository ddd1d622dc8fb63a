"""What each CIS right covers: the organisations (and RAs) an actor's grants reach today."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Set
from functools import cached_property
from typing import Any, NamedTuple

from django.db.models import Q

from cis.core import clock, context, sql
from cis.organisations.models import Organisation, OrganisationStatus
from cis.people.models import Person, PersonStatus
from cis.rbac.models import Position, PositionAssignment, PositionStatus
from cis.rights.models import Right, RightGrant

# What each right carries: the higher rights include the lower ones (DESIGN §2).
INCLUDES: dict[Right, frozenset[Right]] = {
    Right.LSA: frozenset({Right.LSA}),
    Right.SPONSOR: frozenset({Right.LSA, Right.SPONSOR}),
    Right.ID_CHECKER: frozenset({Right.ID_CHECKER}),
    Right.RA_AGENT: frozenset({Right.LSA, Right.SPONSOR, Right.ID_CHECKER, Right.RA_AGENT}),
    Right.RA_AGENT_ADVANCED: frozenset(
        {Right.LSA, Right.SPONSOR, Right.ID_CHECKER, Right.RA_AGENT, Right.RA_AGENT_ADVANCED}
    ),
    Right.RA_MANAGER: frozenset(
        {
            Right.LSA,
            Right.SPONSOR,
            Right.ID_CHECKER,
            Right.RA_AGENT,
            Right.RA_AGENT_ADVANCED,
            Right.RA_MANAGER,
        }
    ),
    Right.SERVICE_DESK: frozenset({Right.SERVICE_DESK}),
}

# The policy runs inside every write, and what it reads is small: an actor's grants, where a
# person works, the organisations below one. Built through the ORM, each of these lookups cost
# twenty times more to compose and compile than to run (about 0.5 ms against 25 us on SQLite, in
# the issuance benchmark), so they are written out here in SQL that SQLite and PostgreSQL both
# read. active_assignments() below stays the definition that lists filter with;
# tests/authz/test_scope_queries.py checks that the two agree on every kind of row.

# What a decision reads of a grant; any other field loads from the database if someone asks.
GRANT_FIELDS = ("id", "person", "right", "organisation", "include_children", "ra")
_GRANT_COLUMNS = [f for f in RightGrant._meta.concrete_fields if f.name in GRANT_FIELDS]

_GRANT_SELECT = sql.columns(RightGrant, [f.name for f in _GRANT_COLUMNS])  # model order
_G = {name: sql.column(RightGrant, name) for name in ("person", "revoked_at", "id")}
_G.update(start=sql.column(RightGrant, "start_date"), end=sql.column(RightGrant, "end_date"))
GRANTS_SQL = (
    f"SELECT {_GRANT_SELECT} FROM {sql.table(RightGrant)}"  # noqa: S608 - names from the model
    f" WHERE {_G['person']} = %s AND {_G['revoked_at']} IS NULL"
    f" AND {_G['start']} <= %s AND ({_G['end']} IS NULL OR {_G['end']} >= %s)"
    f" ORDER BY {_G['id']}"
)


# active_assignments() for one person on one day, as plain SQL: the assignment as a, its
# position as p and the position's organisation as o. Sign-in and the OIDC claims select other
# columns of the same rows (active_assignments_query), so the rule is written here only.
def _a(field: str) -> str:
    return "a." + sql.column(PositionAssignment, field)


def _p(field: str) -> str:
    return "p." + sql.column(Position, field)


def _o(field: str) -> str:
    return "o." + sql.column(Organisation, field)


_ACTIVE_ASSIGNMENTS_FROM = (
    f" FROM {sql.table(PositionAssignment)} a"
    f" JOIN {sql.table(Position)} p ON {_p('id')} = {_a('position')}"
    f" JOIN {sql.table(Organisation)} o ON {_o('id')} = {_p('organisation')}"
    f" WHERE {_a('person')} = %s AND {_a('start_date')} <= %s"
    f" AND ({_a('end_date')} IS NULL OR {_a('end_date')} >= %s)"
    f" AND {_p('status')} = %s AND {_o('status')} = %s"
)
_WORKPLACE_COLUMNS = f"{_o('id')}, {_o('serving_ra')}, {_o('ods_code')}"
WORKPLACES_SQL = f"SELECT {_WORKPLACE_COLUMNS}{_ACTIVE_ASSIGNMENTS_FROM}"

# UNION (not UNION ALL) also ends the walk should parent links ever form a loop.
DESCENDANTS_SQL = (
    f"WITH RECURSIVE below(id) AS (SELECT {sql.column(Organisation, 'id')}"  # noqa: S608
    f" FROM {sql.table(Organisation)} WHERE {sql.column(Organisation, 'parent')} IN ({{marks}})"
    f" UNION SELECT {_o('id')} FROM {sql.table(Organisation)} o"
    f" JOIN below b ON {_o('parent')} = b.id) SELECT id FROM below"
)


def _day(on: dt.date | None) -> Any:
    return sql.connection().ops.adapt_datefield_value(on or clock.today())


def effective_grants(actor: Person, on: dt.date | None = None) -> list[RightGrant]:
    """Grants in force today for an active actor; a closed or restricted actor has none.

    Read once per read-only request (context.request_memo): a page of several scoped lists asks
    for the same actor's grants once per list, and a GET changes no grant. A request that
    writes, a job and a command read them every time.
    """
    if actor.status != PersonStatus.ACTIVE:
        return []
    day = _day(on)
    memo = context.request_memo()
    key = ("effective_grants", actor.pk, day)
    if memo is not None and key in memo:
        return list(memo[key])
    rows = sql.rows(GRANTS_SQL, [actor.pk, day, day])
    names = [f.attname for f in _GRANT_COLUMNS]
    alias = sql.connection().alias
    grants = [RightGrant.from_db(alias, names, row) for row in rows]
    for grant in grants:
        grant.include_children = bool(grant.include_children)  # SQLite answers 0 or 1
    if memo is not None:
        memo[key] = tuple(grants)
    return grants


def descendants(org_ids: Iterable[int]) -> set[int]:
    """The organisations given and every organisation below them, in one query."""
    found = set(org_ids)
    if found:
        statement = DESCENDANTS_SQL.format(marks=", ".join(["%s"] * len(found)))
        rows = sql.rows(statement, sorted(found))
        found.update(row[0] for row in rows)
    return found


class GrantScope:
    """The reach of one grant: every organisation (national) or a set, plus RAs wholly covered.

    The set of organisations is listed only when something asks for all of it: a decision about
    one target is usually settled by the RA, or by the grant's own organisation, without reading
    every organisation an RA serves.
    """

    def __init__(self, grant: RightGrant) -> None:
        self.grant = grant
        self.national = (
            grant.right == Right.SERVICE_DESK
            and grant.organisation_id is None
            and grant.ra_id is None
        )
        self.ra_ids: set[int] = {grant.ra_id} if grant.ra_id is not None else set()

    @property
    def rule(self) -> str:
        return f"{self.grant.right}:grant#{self.grant.id}"

    @cached_property
    def org_ids(self) -> set[int]:
        """Every organisation this grant reaches by name (empty for the national scope)."""
        grant = self.grant
        if self.national:
            return set()
        if grant.ra_id is not None:
            return set(
                Organisation.objects.filter(serving_ra_id=grant.ra_id)
                .order_by()
                .values_list("id", flat=True)
            )
        if grant.organisation_id is not None:
            if grant.include_children:
                return descendants([grant.organisation_id])
            return {grant.organisation_id}
        return set()

    def covers_org(self, org_id: int | None) -> bool:
        return org_id is not None and (self.national or org_id in self.org_ids)

    def reaches(
        self, org_ids: Set[int], serving_ra: Mapping[int, int | None] | None = None
    ) -> bool:
        """Whether any of these organisations is in scope: `org_ids & self.org_ids`, cheaply.

        `serving_ra`, when the caller already knows it, maps each organisation to its RA.
        """
        if not org_ids:
            return False
        if self.national:
            return True
        grant = self.grant
        if "org_ids" not in self.__dict__ and grant.ra_id is not None:
            if serving_ra is not None and all(org in serving_ra for org in org_ids):
                return any(serving_ra[org] == grant.ra_id for org in org_ids)
            return Organisation.objects.filter(id__in=org_ids, serving_ra_id=grant.ra_id).exists()
        return not self.org_ids.isdisjoint(org_ids)


def grant_scope(grant: RightGrant) -> GrantScope:
    return GrantScope(grant)


def active_assignments(on: dt.date | None = None) -> Q:
    """Assignments in force on a day, at a position and organisation that are still open.

    WORKPLACES_SQL states the same rule for one person; change the two together.
    """
    day = on or clock.today()
    return (
        Q(start_date__lte=day)
        & (Q(end_date__isnull=True) | Q(end_date__gte=day))
        & Q(position__status=PositionStatus.ACTIVE)
        & Q(position__organisation__status=OrganisationStatus.OPEN)
    )


class Workplace(NamedTuple):
    """An organisation where someone holds an active position."""

    serving_ra_id: int | None
    ods_code: str


def person_workplaces(person: Person, on: dt.date | None = None) -> dict[int, Workplace]:
    """Where a person holds an active position today: organisation id -> its RA and ODS code.

    The same rule as active_assignments(), as one small query (see GRANTS_SQL above for why);
    read once per person in a read-only request, as the grants are (effective_grants).
    """
    statement, values = workplaces_query(person.pk, on)
    memo = context.request_memo()
    key = ("person_workplaces", person.pk, values[1])
    if memo is not None and key in memo:
        return dict(memo[key])
    rows = sql.rows(statement, values)
    found = {org_id: Workplace(ra_id, ods_code) for org_id, ra_id, ods_code in rows}
    if memo is not None:
        memo[key] = dict(found)
    return found


def workplaces_query(person_id: int, on: dt.date | None = None) -> tuple[str, list[Any]]:
    """WORKPLACES_SQL and its values, for a caller that reads it inside a statement of its own."""
    return active_assignments_query(person_id, _WORKPLACE_COLUMNS, on)


def active_assignments_query(
    person_id: int, columns: str, on: dt.date | None = None
) -> tuple[str, list[Any]]:
    """SELECT `columns` of a person's active assignments (a), their positions (p) and those
    positions' organisations (o), and the statement's values: active_assignments() in SQL."""
    day = _day(on)
    values = [person_id, day, day, PositionStatus.ACTIVE.value, OrganisationStatus.OPEN.value]
    return f"SELECT {columns}{_ACTIVE_ASSIGNMENTS_FROM}", values


def person_org_ids(person: Person) -> set[int]:
    """Where a person holds an active position today."""
    return set(person_workplaces(person))
